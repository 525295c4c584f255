"""GemNet (architecture = "gemnet" with several bidders): menu networks of the others' bids,
trained with a compatibility penalty, then made exactly compatible by a transform named by
the option ``transform``: ``cells``, ``scale`` or ``surcharge`` (one module each).
``network_bounds`` evaluates and bounds the networks for all three and for the artifact."""
