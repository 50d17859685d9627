"""The part of the network a change touches, as a small document a validator can check.

A stored network is valid (every write keeps it so), so every problem a change can bring
lies in what the change names or in what depends on it. :func:`touched_region` gathers
exactly that, after the change:

- every element the change creates or updates;
- for a duct it updates, the innerducts within it and the cables through it (with their
  whole routes); for a cable, every duct of its route; for every duct, the ducts it lies in;
- for a splitter or port it changes, and for the ``from`` of every link it changes or
  removes, every link out of it (a splitter's ratio, a tap's legs, a port's one fibre);
  for the ``to`` of every such link, every link into it (one feed per node);
- below every link it changes or removes, the whole PON subtree (a link moved away leaves
  a subtree unreached; one moved into its own subtree closes a cycle);
- for every splitter and ONT in the region, the chain of links up to its port and the
  port's OLT with all its ports (so reachability is decided as in the whole network).

The elements the region refers to but does not hold are passed to
:func:`ponmodel.document.validate_region` as known ids. Each region collection is ordered
by id, as an export orders it, so that a rule that reports the later of two elements
(a node fed twice) picks the same one as a whole validation.
"""

from __future__ import annotations

from typing import Any

from ponmodel.document import FORMAT, KIND_OF_COLLECTION
from ponmodel.pending import PendingNetwork, references

COLLECTION_OF_KIND = {kind: key for key, kind in KIND_OF_COLLECTION.items()}


class Region:
    """Elements gathered for a check, by kind and id (ports go inside their OLT)."""

    def __init__(self, net: PendingNetwork) -> None:
        self.net = net
        self.elements: dict[str, tuple[str, dict[str, Any]]] = {}

    def add(self, found: tuple[str, dict[str, Any]] | None) -> None:
        if found is None:
            return
        kind, element = found
        ident = element.get("id")
        if not isinstance(ident, str) or ident in self.elements:
            return
        self.elements[ident] = (kind, element)
        if kind == "port" and isinstance(element.get("olt"), str):
            self.add(self.net.get(element["olt"]))
        if kind == "olt":
            for port in self.net.ports_of(ident):
                self.add(("port", port))

    def add_id(self, element_id: Any) -> None:
        if isinstance(element_id, str):
            self.add(self.net.get(element_id))

    def add_links_around(self, node: Any) -> None:
        """Every link out of ``node`` and into it."""
        if not isinstance(node, str):
            return
        for link in self.net.links_out_of(node) + self.net.links_into(node):
            self.add(("link", link))

    def add_chains(self) -> None:
        """For every splitter and ONT held, the links up to its port (and that port)."""
        pending = [i for i, (k, _) in self.elements.items() if k in ("splitter", "ont")]
        self.net.preload_up(pending)  # one query for every chain, not two a step
        done: set[str] = set()
        while pending:
            node = pending.pop()
            steps = 0
            while node not in done and steps < 10_000:
                done.add(node)
                steps += 1
                into = self.net.links_into(node)
                for link in into:
                    self.add(("link", link))
                if not into or not isinstance(into[0].get("from"), str):
                    break
                node = into[0]["from"]
                found = self.net.get(node)
                self.add(found)
                if found is None or found[0] not in ("splitter", "ont"):
                    break

    def document(self) -> dict[str, Any]:
        """The region as a ``ponmodel/1`` document (collections ordered by id, ports in
        their OLT's order)."""
        doc: dict[str, Any] = {"format": FORMAT}
        by_key: dict[str, list[dict[str, Any]]] = {key: [] for key in KIND_OF_COLLECTION}
        for ident in sorted(self.elements):
            kind, element = self.elements[ident]
            if kind == "port":
                continue
            if kind == "olt":
                element = {**element, "ports": [
                    {k: v for k, v in p.items() if k != "olt"}
                    for p in self.net.ports_of(ident) if p["id"] in self.elements]}
            by_key[COLLECTION_OF_KIND[kind]].append(element)
        doc.update(by_key)
        return doc

    def known(self) -> dict[str, str]:
        """Id → kind of what the region's elements refer to but it does not hold."""
        wanted = set()
        for kind, element in self.elements.values():
            for _, target in references(kind, element):
                if target not in self.elements:
                    wanted.add(target)
        return self.net.kinds(wanted)


def touched_region(net: PendingNetwork, operated: list[tuple[str, str, str]]) -> Region:
    """The region of a change (see the module's description).

    Parameters
    ----------
    net : PendingNetwork
        The network with the change laid over it.
    operated : list of (op, kind, id)
        What the change does: ``create``, ``update`` or ``delete`` of an element.
    """
    region = Region(net)
    roots: list[str] = []  # nodes whose subtree the region holds
    net.load(ident for _, _, ident in operated)
    around: list[str] = []  # read ahead, at once, what the loop below asks node by node
    for op, kind, ident in operated:
        if kind == "link":
            for state in (net.get(ident), net.get(ident, after=False)):
                if state is not None:
                    around += [state[1].get("from"), state[1].get("to")]
        elif kind in ("splitter", "port") and op != "delete":
            around.append(ident)
    net.preload_around(around)
    for op, kind, ident in operated:
        after = net.get(ident)
        before = net.get(ident, after=False)
        if op != "delete":
            region.add(after)
        if kind == "duct" and op == "update":
            for ref_kind, ref_id, _ in net.referrers("duct", ident):
                if ref_kind in ("duct", "cable"):
                    region.add_id(ref_id)
        elif kind == "link":
            for state in (before, after):
                if state is None:
                    continue
                region.add_links_around(state[1].get("from"))
                region.add_links_around(state[1].get("to"))
                region.add_id(state[1].get("from"))
                if isinstance(state[1].get("to"), str):
                    roots.append(state[1]["to"])
        elif kind in ("splitter", "port") and op != "delete":
            region.add_links_around(ident)
    net.preload_down(roots)
    for root in roots:
        for found in net.subtree(root):
            region.add(found)
    for kind, element in list(region.elements.values()):
        if kind == "cable":
            for duct in element.get("ducts") or []:
                region.add_id(duct)
    _add_hosts(region)
    for kind, element in list(region.elements.values()):
        if kind == "link":  # the node it leaves: a leg is checked against it
            region.add_id(element.get("from"))
    region.add_chains()  # last: every splitter and ONT added so far gets its chain
    return region


def _add_hosts(region: Region) -> None:
    """The ducts every duct of the region lies in, up to the outermost (a cycle of
    ``within`` is seen whole)."""
    pending = [e for k, e in region.elements.values() if k == "duct"]
    while pending:
        host = pending.pop().get("within")
        if isinstance(host, str) and host not in region.elements:
            region.add_id(host)
            found = region.elements.get(host)
            if found is not None and found[0] == "duct":
                pending.append(found[1])
