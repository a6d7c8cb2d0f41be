// cuproof kernels: common definitions shared by the device build (nvcc) and the host build (cc crate, C++).
// The host build defines CUPROOF_HOST_BUILD; __host__/__device__/__global__ qualifiers are then defined away so that
// the very same kernel math compiles as ordinary C++ and runs in the CPU tests.
#pragma once

#include <stdint.h>
#include <stddef.h>

#if defined(__CUDACC__)
#define CP_HD __host__ __device__ __forceinline__
#else
#define CP_HD static inline
#endif

#if defined(__CUDA_ARCH__)
#define CP_DEVICE_CODE 1
#else
#define CP_DEVICE_CODE 0
#endif
