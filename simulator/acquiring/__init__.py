"""A simulated card acquirer: a Russian card form, test cards, signed callbacks to the fleet."""

from simulator.acquiring.app import Acquirer, Faults, create_app, order_url, run_acquiring

__all__ = ["Acquirer", "Faults", "create_app", "order_url", "run_acquiring"]
