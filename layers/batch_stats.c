/* batch_stats.c: classifier statistics summed on the device (llx_batch_stats_add; llx/ops.h).
 *
 * The trainer adds each batch's confusion counts and loss to an F64 accumulator on the
 * backend's device and reads it back only when it prints or records the figures, so the host
 * does not wait for each GPU step. On the CPU the sums below run in place; on CUDA one small
 * launch (llx_cuda_batch_stats_add, layers/cuda/batch_stats.cu) does the same arithmetic:
 * counts are integers and the loss sum is a double added in batch order, so both devices
 * give the same bits. */
#include "layers_impl.h"

static double value_at(const llx_tensor *t, int64_t i)
{
    return t->dtype == LLX_F64 ? ((const double *)t->data)[i] : (double)((const float *)t->data)[i];
}

/* The first largest entry of the sum of `crops` rows of k logits from row r0 on; a NaN sum
 * never wins (all NaN: class 0). */
static int64_t predict(const llx_tensor *logits, int64_t r0, int crops, int64_t k)
{
    double best = -INFINITY;
    int64_t arg = 0;
    for (int64_t j = 0; j < k; j++) {
        double s = 0;
        for (int c = 0; c < crops; c++) s += value_at(logits, (r0 + c) * k + j);
        if (s > best) best = s, arg = j;
    }
    return arg;
}

static void batch_stats_cpu(const llx_tensor *logits, const int32_t *labels, double loss, int crops,
                            double *acc)
{
    int64_t k = logits->shape.dim[1], samples = logits->shape.dim[0] / crops;
    for (int64_t s = 0; s < samples; s++) {
        int32_t y = labels[s * crops];
        if (y >= 0 && y < k) acc[y * k + predict(logits, s * crops, crops, k)] += 1;
    }
    double *tail = acc + k * k;
    tail[LLX_STATS_LOSS_SUM] += loss * (double)samples;
    tail[LLX_STATS_BATCHES] += 1;
    if (!isfinite(loss) && tail[LLX_STATS_FIRST_BAD] == 0) tail[LLX_STATS_FIRST_BAD] = tail[LLX_STATS_BATCHES];
}

static llx_status batch_stats_check(const llx_backend *be, const llx_tensor *logits, const llx_tensor *labels,
                                    const llx_tensor *loss, int crops, const llx_tensor *acc, llx_error *err)
{
    char ls[64], ys[64];
    if (logits->shape.ndim != 2 || logits->shape.dim[1] < 1 || crops < 1 || logits->shape.dim[0] % crops != 0)
        return llx_errorf(err, LLX_ERR_SHAPE, "batch stats: logits %s are not (samples * %d crops, classes)",
                          llx_shape_str(&logits->shape, ls, sizeof ls), crops);
    if (labels->dtype != LLX_I32 || llx_tensor_numel(labels) != logits->shape.dim[0])
        return llx_errorf(err, LLX_ERR_SHAPE, "batch stats: labels %s %s do not fit logits %s",
                          llx_dtype_name(labels->dtype), llx_shape_str(&labels->shape, ys, sizeof ys),
                          llx_shape_str(&logits->shape, ls, sizeof ls));
    if ((logits->dtype != LLX_F32 && logits->dtype != LLX_F64) || loss->dtype != logits->dtype ||
        llx_tensor_numel(loss) != 1)
        return llx_errorf(err, LLX_ERR_INVALID, "batch stats: logits %s and loss %s (%lld values): want f32 or "
                          "f64, one loss value", llx_dtype_name(logits->dtype), llx_dtype_name(loss->dtype),
                          (long long)llx_tensor_numel(loss));
    int64_t k = logits->shape.dim[1];
    if (acc->dtype != LLX_F64 || llx_tensor_numel(acc) != llx_batch_stats_len(k))
        return llx_errorf(err, LLX_ERR_SHAPE, "batch stats: the accumulator is %s of %lld values, want f64 of %lld",
                          llx_dtype_name(acc->dtype), (long long)llx_tensor_numel(acc),
                          (long long)llx_batch_stats_len(k));
    if (logits->device != be->device || labels->device != be->device || loss->device != be->device ||
        acc->device != be->device)
        return llx_errorf(err, LLX_ERR_INVALID, "batch stats: a tensor is not on the %s device",
                          llx_device_name(be->device));
    return LLX_OK;
}

llx_status llx_batch_stats_add(llx_backend *be, const llx_tensor *logits, const llx_tensor *labels,
                               const llx_tensor *loss, int crops, llx_tensor *acc, llx_error *err)
{
    LLX_TRY(batch_stats_check(be, logits, labels, loss, crops, acc, err));
    switch (be->device) {
    case LLX_DEVICE_CPU:
        batch_stats_cpu(logits, labels->data, value_at(loss, 0), crops, acc->data);
        return LLX_OK;
#ifdef LLX_HAVE_CUDA
    case LLX_DEVICE_CUDA:
        return llx_cuda_batch_stats_add(be, logits, labels, loss, crops, acc, err);
#endif
    default:
        return llx_errorf(err, LLX_ERR_UNSUPPORTED, "batch stats: no kernel for device %s",
                          llx_device_name(be->device));
    }
}
