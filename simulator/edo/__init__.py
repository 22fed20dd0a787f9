"""A simulated EDO operator: takes documents, signs or refuses them later, injects faults."""

from simulator.edo.app import EdoFaults, EdoState, create_app, run_edo

__all__ = ["EdoFaults", "EdoState", "create_app", "run_edo"]
