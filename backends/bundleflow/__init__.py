"""BundleFlow: flow-based bundle-lottery menus for one combinatorial bidder."""
