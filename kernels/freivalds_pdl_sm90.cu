// The Freivalds kernels of freivalds.cu compiled for Hopper (compute_90a) with programmatic dependent launch: the
// chain's dependent kernels (slice sum, A·y) wait for their predecessor with griddepcontrol.wait at their start, and
// B·r and the sum release their dependents with griddepcontrol.launch_dependents (freivalds.cu, CP_FV_PDL). The
// runtime launches the dependents with CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION where
// `FreivaldsLaunch::pdl` asks for it; launched without the attribute the kernels behave exactly as freivalds.cu's.
#define CP_FV_PDL 1
#include "freivalds.cu"
