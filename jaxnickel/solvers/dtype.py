"""float64 policy.

jaxnickel never flips JAX's global configuration behind the user's back (that
changes the behaviour of every other JAX library in the process).  Instead every
public ``solve`` calls :func:`require_x64`, which raises a clear error when JAX
runs in its default float32 mode.  The ``jaxnickel`` command line enables
float64 itself.
"""

from __future__ import annotations

import jax

X64_HINT = (
    "jaxnickel computes in float64 (meV gaps on eV bands do not survive float32). "
    "Enable it before any JAX computation with "
    "`jax.config.update('jax_enable_x64', True)` or the environment variable "
    "JAX_ENABLE_X64=1."
)


def require_x64() -> None:
    """Raise ``RuntimeError`` unless ``jax_enable_x64`` is on."""
    if not jax.config.jax_enable_x64:
        raise RuntimeError(X64_HINT)


def require_float64_params(params, what: str = "params") -> None:
    """Refuse a parameter pytree with floating leaves narrower than float64.

    A ``MixDParams`` / ``TriplonParams`` built *before* float64 was enabled holds
    float32 arrays; used after it, the solve would mix precisions silently.  Raises
    ``ValueError`` naming the fields, with the fix.
    """
    import jax.numpy as jnp
    import numpy as np

    bad = []
    for path, leaf in jax.tree_util.tree_leaves_with_path(params):
        dt = getattr(leaf, "dtype", None)
        if dt is not None and jnp.issubdtype(dt, jnp.floating) and np.dtype(dt).itemsize < 8:
            bad.append(jax.tree_util.keystr(path).lstrip(".") or "value")
    if bad:
        raise ValueError(
            f"{what} holds {', '.join(bad)} in float32: it was built before float64 was enabled. "
            "Rebuild it after jax.config.update('jax_enable_x64', True) (jaxnickel computes in float64)"
        )
