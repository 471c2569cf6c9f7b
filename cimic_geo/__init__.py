"""cimic_geo: geospatial situational awareness for Civil-Military Cooperation (CIMIC) units.

All logic lives here and imports without Streamlit; ``app.py`` and ``pages/`` are thin views.
"""

__version__ = "0.1.0"
