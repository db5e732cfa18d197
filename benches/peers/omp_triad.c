/* HexPylot's OpenMP peer: the STREAM triad a[i] = b[i] + s*c[i] on float arrays, as a C programmer
   would write it with OpenMP.

   - Arrays are 2 MiB aligned and advised for transparent huge pages (MADV_HUGEPAGE), as NumPy does
     for large arrays and as HexPylot's engine does, so that no side is helped by page size.
   - They are first touched in parallel with the same static schedule as the kernel (each thread's
     pages land on its own NUMA node).
   - REPS + 1 repetitions, the first dropped as warm-up; GB/s counts 3 arrays (STREAM's counting:
     b and c read, a written once).
   - Every element is checked afterwards (within 1e-6: the compiler may contract b + s*c into one
     FMA, which rounds once instead of twice).

   Prints one JSON line: {"peer": "openmp-c", "threads", "n", "reps", "triad_gbs_median", "triad_gbs_best", "valid"}.
   Exit 1 on a wrong result or a bad argument.
   Build: gcc -O3 -march=native -fopenmp omp_triad.c -o omp_triad
   Run:   OMP_NUM_THREADS=T OMP_PROC_BIND=close OMP_PLACES=cores ./omp_triad [n] */
#define _GNU_SOURCE
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

enum { REPS = 20 };
static const size_t HUGE_PAGE = (size_t)2 << 20;

static int by_value(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static float *alloc_floats(long n) {
    size_t bytes = (n * sizeof(float) + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    void *p = NULL;
    if (posix_memalign(&p, HUGE_PAGE, bytes) != 0) {
        fprintf(stderr, "omp_triad: cannot allocate %zu bytes\n", bytes);
        exit(1);
    }
    madvise(p, bytes, MADV_HUGEPAGE); /* advice only: failure is harmless */
    return p;
}

int main(int argc, char **argv) {
    char *end = NULL;
    long n = argc > 1 ? strtol(argv[1], &end, 10) : 1L << 25;
    if (n <= 0 || (end && *end)) {
        fprintf(stderr, "usage: omp_triad [n > 0]\n");
        return 1;
    }
    const float s = 0.4f;
    float *a = alloc_floats(n), *b = alloc_floats(n), *c = alloc_floats(n);
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        a[i] = 0.0f;
        b[i] = 0.2f;
        c[i] = 0.1f;
    }
    double t[REPS + 1];
    for (int r = 0; r <= REPS; r++) {
        double t0 = omp_get_wtime();
#pragma omp parallel for schedule(static)
        for (long i = 0; i < n; i++) a[i] = b[i] + s * c[i];
        t[r] = omp_get_wtime() - t0;
    }
    long wrong = 0;
#pragma omp parallel for schedule(static) reduction(+ : wrong)
    for (long i = 0; i < n; i++) wrong += fabsf(a[i] - (0.2f + s * 0.1f)) > 1e-6f;
    qsort(t + 1, REPS, sizeof t[0], by_value); /* t[0] is the warm-up */
    double bytes = 3.0 * sizeof(float) * (double)n;
    printf("{\"peer\": \"openmp-c\", \"threads\": %d, \"n\": %ld, \"reps\": %d, \"triad_gbs_median\": %.3f, \"triad_gbs_best\": %.3f, \"valid\": %s}\n",
           omp_get_max_threads(), n, REPS, bytes / t[1 + REPS / 2] / 1e9, bytes / t[1] / 1e9,
           wrong ? "false" : "true");
    if (wrong) fprintf(stderr, "omp_triad: %ld wrong elements\n", wrong);
    free(a);
    free(b);
    free(c);
    return wrong ? 1 : 0;
}
