"""The shield: what keeps abuse out, its SMS and its report."""
