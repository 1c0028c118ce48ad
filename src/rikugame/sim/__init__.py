"""The simulated cluster: replays usage traces through the decision core and scores the outcome."""
