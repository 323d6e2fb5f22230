"""Local data plane: everything that executes in embedded mode (model servers, runtime APIs)."""
