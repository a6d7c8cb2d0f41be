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

// A block's shared variable: CP_SHARED(type, name) or CP_SHARED(type, name, [extents]) declares
// `__shared__ type name [extents]`. The host emulation of whole kernels (simt_emu.hpp) gives every block in flight
// its own copy.
// CP_SHARED_ALIGNED(bytes, ...) adds __align__(bytes) (the emulation's arena is 16-byte aligned throughout).
#if defined(CP_SIMT_EMU)
#define CP_SHARED_ALIGNED(A, T, name, ...) CP_SHARED(T, name, __VA_ARGS__)
#define CP_SHARED(T, name, ...) \
    emu_type<T __VA_ARGS__>& name = *(emu_type<T __VA_ARGS__>*)emu_shared(__COUNTER__, sizeof(T __VA_ARGS__))
#else
#define CP_SHARED_ALIGNED(A, T, name, ...) __shared__ __align__(A) T name __VA_ARGS__
#define CP_SHARED(T, name, ...) __shared__ T name __VA_ARGS__
#endif
