"""Reference kernel(s): depthwise_conv (placeholder, to be written)."""
KERNELS = {}
