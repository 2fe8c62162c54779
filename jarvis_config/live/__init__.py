"""Review against the running mesh: probe runtimes and the gateway (`doctor`), or write a
starter mesh from what runs (`discover`). Network faults become `Problem` values, never
exceptions that reach the user."""
