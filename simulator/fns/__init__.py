"""A simulated tax service (ФНС) for register registration: applications, RNM, cards."""

from simulator.fns.app import FnsState, create_app, run_fns

__all__ = ["FnsState", "create_app", "run_fns"]
