"""Data sets shipped with jaxnickel (CSV files in the format of :mod:`jaxnickel.data`).

Load them with :func:`jaxnickel.data.load_bundled`; list them with
:func:`jaxnickel.data.bundled_datasets`.  Provenance, full citations and caveats:
``README.md`` in this folder.

* ``nickelate_gaps.csv`` -- the two STM gaps of La2PrNi2O7 films (S. Fan et al.,
  arXiv:2506.01788), assigned to the alpha (larger gap) and beta sheets as in
  Liu & Khaliullin, arXiv:2602.23989.
"""
