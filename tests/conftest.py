import jax

# The library never flips this itself (see jaxnickel.solvers.dtype); the tests do.
jax.config.update("jax_enable_x64", True)
