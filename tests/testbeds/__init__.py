"""Tests of the test beds: the simulators and local servers must behave as documented."""
