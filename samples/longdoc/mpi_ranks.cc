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

}  // namespace floe::longdoc
