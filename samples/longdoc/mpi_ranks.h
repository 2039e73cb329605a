// Scale-out over MPI (optional: built with -DFLOE_WITH_MPI=ON, Debian libopenmpi-dev): under
// mpirun every rank is one process scoring its share of the documents. Without MPI in the build,
// or when not started by mpirun, there is one rank and nothing else happens.
#pragma once

#include <cstddef>

namespace floe::longdoc {

class MpiRanks {
 public:
  MpiRanks();   // MPI_Init when built with MPI and started by mpirun
  ~MpiRanks();  // MPI_Finalize when it was initialised
  MpiRanks(const MpiRanks&) = delete;
  MpiRanks& operator=(const MpiRanks&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // Waits for every rank (a barrier); true when every rank passed ok = true.
  bool AllOk(bool ok) const;

 private:
  int rank_ = 0, size_ = 1;
  bool initialised_ = false;
};

// A counter every rank draws from (0, 1, 2, ... across all ranks, each value once): the dynamic
// assignment of documents. One MPI window on rank 0 updated with MPI_Fetch_and_op (passive
// target), so a rank takes its next document the moment it finishes one, whatever the others
// are doing. Creating and destroying it are collective: every rank must construct it and call
// Close(), in the same order. With one rank it is a plain counter.
class SharedCounter {
 public:
  explicit SharedCounter(const MpiRanks& ranks);
  ~SharedCounter();
  SharedCounter(const SharedCounter&) = delete;
  SharedCounter& operator=(const SharedCounter&) = delete;

  size_t Next();
  void Close();  // collective; the destructor calls it when it was not called

 private:
  size_t local_ = 0;
  bool shared_ = false;
  void* window_ = nullptr;  // MPI_Win, kept opaque so this header needs no <mpi.h>
  long long* base_ = nullptr;
};

}  // namespace floe::longdoc
