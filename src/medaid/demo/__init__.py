"""The demo year and the screenshots: generated data, never imported by the
service (only the `medaid demo` command and `python -m medaid.demo.screenshots`).
"""
