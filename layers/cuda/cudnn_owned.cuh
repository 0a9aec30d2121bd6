/* cudnn_owned.cuh: one cuDNN descriptor owned by one scope, destroyed whatever the path out
 * (C++ only; conv2d.cu, conv2d_graph.cu, batchnorm2d.cu, maxpool2d.cu).
 *
 *   cudnn_tensor x;                                   // d == nullptr until created
 *   TRY(cudnnCreateTensorDescriptor(&x.d), ...);      // the create call fills d
 *   cudnnSetTensor4dDescriptor(x, ...);               // converts to the handle
 *   handle = x.release();                             // hands it over: not destroyed here */
#ifndef LLX_CUDA_CUDNN_OWNED_CUH
#define LLX_CUDA_CUDNN_OWNED_CUH

#include <cudnn.h>

template <typename T, cudnnStatus_t (*Destroy)(T)>
struct cudnn_owned {
    T d = nullptr;
    cudnn_owned() = default;
    cudnn_owned(const cudnn_owned &) = delete;
    cudnn_owned &operator=(const cudnn_owned &) = delete;
    ~cudnn_owned()
    {
        if (d) Destroy(d);
    }
    operator T() const { return d; }
    T release()
    {
        T r = d;
        d = nullptr;
        return r;
    }
};

using cudnn_tensor = cudnn_owned<cudnnTensorDescriptor_t, cudnnDestroyTensorDescriptor>;
using cudnn_filter = cudnn_owned<cudnnFilterDescriptor_t, cudnnDestroyFilterDescriptor>;
using cudnn_conv = cudnn_owned<cudnnConvolutionDescriptor_t, cudnnDestroyConvolutionDescriptor>;
using cudnn_pooling = cudnn_owned<cudnnPoolingDescriptor_t, cudnnDestroyPoolingDescriptor>;
using cudnn_backend = cudnn_owned<cudnnBackendDescriptor_t, cudnnBackendDestroyDescriptor>;

#endif
