"""ponmodel.topology: the networkx graph layer (build, trace, reach) and, later, the queries
that walk it. Imports the core (:mod:`ponmodel`), never the API."""
