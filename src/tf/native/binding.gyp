{
  "targets": [
    {
      "target_name": "blas_kernels",
      "sources": ["blas-kernels.c", "winograd.c"],
      "cflags": ["-O3", "-std=c11"],
      "libraries": ["-lopenblas"]
    }
  ]
}
