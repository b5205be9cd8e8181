/* Open MPI's own in-place float32 sum all-reduce, timed the way Lepton.Benchmarks --allreduce times ours:
 * message sizes 1 KB to 64 MB, enough repetitions for 0.2 s each, the mean time on rank 0.
 * Built and run by allreduce.sh. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    size_t largest = 64u << 20;
    float *data = malloc(largest);
    for (size_t i = 0; i < largest / sizeof(float); i++) data[i] = 1.0f;
    for (size_t bytes = 1024; bytes <= largest; bytes *= 4) {
        int count = (int)(bytes / sizeof(float));
        for (int i = 0; i < 3; i++) MPI_Allreduce(MPI_IN_PLACE, data, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        /* Repetitions agreed by all ranks: rank 0 times one call and broadcasts the count. */
        double t0 = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, data, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        double one = MPI_Wtime() - t0;
        int reps = (int)(0.2 / (one > 1e-7 ? one : 1e-7));
        reps = reps < 5 ? 5 : reps > 20000 ? 20000 : reps;
        MPI_Bcast(&reps, 1, MPI_INT, 0, MPI_COMM_WORLD);
        MPI_Barrier(MPI_COMM_WORLD);
        t0 = MPI_Wtime();
        for (int i = 0; i < reps; i++) MPI_Allreduce(MPI_IN_PLACE, data, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        double mean = (MPI_Wtime() - t0) / reps;
        if (rank == 0) printf("%zu %.3f\n", bytes, mean * 1e6);
    }
    free(data);
    MPI_Finalize();
    return 0;
}
