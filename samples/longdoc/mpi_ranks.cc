#include "mpi_ranks.h"

#include <cstdlib>

#ifdef FLOE_WITH_MPI
#include <mpi.h>
#endif

namespace floe::longdoc {

MpiRanks::MpiRanks() {
#ifdef FLOE_WITH_MPI
  // Started by mpirun (Open MPI, or a PMI launcher)? A plain run stays a plain process.
  if (!std::getenv("OMPI_COMM_WORLD_SIZE") && !std::getenv("PMI_SIZE") && !std::getenv("PMIX_RANK"))
    return;
  int already = 0;
  MPI_Initialized(&already);
  if (!already) {
    if (MPI_Init(nullptr, nullptr) != MPI_SUCCESS) return;
    initialised_ = true;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
#endif
}

MpiRanks::~MpiRanks() {
#ifdef FLOE_WITH_MPI
  if (initialised_) MPI_Finalize();
#endif
}

bool MpiRanks::AllOk(bool ok) const {
#ifdef FLOE_WITH_MPI
  if (size_ > 1) {
    int mine = ok ? 1 : 0, all = 0;
    MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all == 1;
  }
#endif
  return ok;
}

SharedCounter::SharedCounter(const MpiRanks& ranks) {
#ifdef FLOE_WITH_MPI
  if (ranks.size() > 1) {
    MPI_Win win;
    const MPI_Aint bytes = ranks.rank() == 0 ? MPI_Aint(sizeof(long long)) : 0;
    if (MPI_Win_allocate(bytes, sizeof(long long), MPI_INFO_NULL, MPI_COMM_WORLD, &base_, &win) ==
        MPI_SUCCESS) {
      if (ranks.rank() == 0) *base_ = 0;
      MPI_Barrier(MPI_COMM_WORLD);  // the counter is zero before anyone draws
      window_ = new MPI_Win(win);
      shared_ = true;
    }
  }
#else
  (void)ranks;
#endif
}

SharedCounter::~SharedCounter() { Close(); }

size_t SharedCounter::Next() {
#ifdef FLOE_WITH_MPI
  if (shared_) {
    const long long one = 1;
    long long got = 0;
    MPI_Win win = *static_cast<MPI_Win*>(window_);
    MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win);
    MPI_Fetch_and_op(&one, &got, MPI_LONG_LONG, 0, 0, MPI_SUM, win);
    MPI_Win_unlock(0, win);
    return size_t(got);
  }
#endif
  return local_++;
}

void SharedCounter::Close() {
#ifdef FLOE_WITH_MPI
  if (shared_) {
    MPI_Win* win = static_cast<MPI_Win*>(window_);
    MPI_Win_free(win);
    delete win;
    window_ = nullptr;
    shared_ = false;
  }
#endif
}

}  // namespace floe::longdoc
