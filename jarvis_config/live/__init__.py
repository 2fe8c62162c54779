"""Review against the running mesh: probe runtimes and the gateway (`doctor`), or write a
starter mesh from what runs (`discover`). Network faults become `Problem` values, never
exceptions that reach the user."""

# The problem codes `doctor` reports (compare.py, gateway.py, completions.py); they are in the
# catalogue (jarvis_config.validate.codes) with the command that shows them.
EMITS = (
    "completion-failed",
    "context-window-exceeds-served",
    "gateway-auth-failed",
    "gateway-config-differs",
    "gateway-unreachable",
    "model-not-served",
    "model-unused",
    "quantization-differs",
    "runtime-bad-answer",
    "runtime-unreachable",
)
