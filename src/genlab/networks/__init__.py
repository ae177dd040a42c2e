"""Networks: time-conditioned function approximators ``network(state, t) -> State``
(contract in :mod:`genlab.networks.registry`)."""
