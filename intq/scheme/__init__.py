"""Layer 0, the numbers of the paper: quantization parameters and fixed-point arithmetic. Imports: numpy."""
from intq.scheme.qparams import QParams, choose_qparams, quantize, dequantize, round_half_away

__all__ = ["QParams", "choose_qparams", "quantize", "dequantize", "round_half_away"]
