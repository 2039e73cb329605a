// Scale-out over MPI (optional: built with -DFLOE_WITH_MPI=ON, Debian libopenmpi-dev): under
// mpirun every rank is one process scoring its share of the documents. Without MPI in the build,
// or when not started by mpirun, there is one rank and nothing else happens.
#pragma once

namespace floe::longdoc {

class MpiRanks {
 public:
  MpiRanks();   // MPI_Init when built with MPI and started by mpirun
  ~MpiRanks();  // MPI_Finalize when it was initialised
  MpiRanks(const MpiRanks&) = delete;
  MpiRanks& operator=(const MpiRanks&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // Waits for every rank; true when every rank passed ok = true.
  bool AllOk(bool ok) const;

 private:
  int rank_ = 0, size_ = 1;
  bool initialised_ = false;
};

}  // namespace floe::longdoc
