"""ponmodel: XGS-PON fibre network inventory and capacity modeller.

The core library: the domain model (:mod:`ponmodel.elements`), the network document
format ``ponmodel/1`` (:mod:`ponmodel.document`), storage (:mod:`ponmodel.storage`), the
sourced figures (:mod:`ponmodel.catalog`) and the compiled kernels behind the budget and
capacity wrappers. The graph layer is :mod:`ponmodel.topology`; the API and CLI are
:mod:`ponmodel.api`. Dependencies point one way: api → topology → core.
"""

__version__ = "0.1.0"
FORMAT = "ponmodel/1"

__all__ = ["FORMAT", "__version__"]
