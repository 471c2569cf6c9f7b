"""The only package that touches Streamlit caching, session state and st_folium."""
