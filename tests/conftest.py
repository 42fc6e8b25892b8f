"""Test-wide set-up: MMDetection's registries with mmdet as the default scope, as a runner would set."""
import os
import sys

from mmdet.utils import register_all_modules

register_all_modules(init_default_scope=True)

# Helpers next to the tests (e.g. kd_fixtures.py) import by module name.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), 'test_models', 'test_detectors'))
