"""Learned data markets in the ``menu`` backend: a menu of experiments for one buyer
(``experiment_menu``) and a network of experiments and payments for several buyers with an
externality (``externality_net``)."""
