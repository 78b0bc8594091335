//! Whether this process was started by an MPI launcher.

/// Environment variables that MPI launchers set in every process they start: OpenMPI's
/// `mpirun`, and the PMI / PMIx process managers of MPICH's Hydra and of Slurm.
pub const LAUNCHER_VARIABLES: [&str; 4] =
    ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"];

/// True when one of [`LAUNCHER_VARIABLES`] is set: the process runs under `mpirun` (or
/// `srun`), so a program may choose the MPI collective without being told. Works without
/// the `mpi` feature, so a build without it can say that it cannot join the job.
pub fn launched_by_mpi() -> bool {
    LAUNCHER_VARIABLES
        .iter()
        .any(|v| std::env::var_os(v).is_some())
}
