"""The core (layer 1): the task and the weights, mixing matrices, input validation, the BLAS thread limit,
atomic file writes, progress bars and the result protocol. Imports nothing above itself."""
