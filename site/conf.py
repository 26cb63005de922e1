"""Sphinx configuration of the course website: ``make site`` (tools/build_site.py).

tools/build_site.py copies this file into a staging folder (artifacts/site-src/) next to the
copied notebooks and pages, and runs Sphinx there; nothing here reads the repository.
The notebooks are rendered from their committed outputs and never executed again.
"""

project = "A hands-on PyTorch course"
author = "the course's authors"
copyright = "the course's authors, MIT licence"

extensions = ["myst_nb"]
# the notebooks keep the outputs `make notebooks` saved: never run them here
nb_execution_mode = "off"
# no widget JavaScript from a CDN (the course's notebooks save no widget state)
nb_ipywidgets_js = {}
nb_merge_streams = True
# $...$ and $$...$$ as in JupyterLab; ::: fences for the page's facts box; GitHub-style heading
# anchors so that links such as DEBUGGING.md#silent-bugs-no-error-wrong-numbers work
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

exclude_patterns = ["_files/**", "_build", "**.ipynb_checkpoints"]
suppress_warnings = ["mystnb.unknown_mime_type"]

# MathJax 3, served from the site itself (copied into _static/mathjax/ by tools/build_site.py):
# a site read offline, or on a network that blocks CDNs, still shows its maths
mathjax_path = "mathjax/tex-chtml.js"

html_theme = "sphinx_book_theme"
html_title = "A hands-on PyTorch course"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
# no empty general index page (the course documents no API)
html_use_index = False
html_domain_indices = False
html_theme_options = {
    "show_toc_level": 2,
    "navigation_with_keys": False,
    # the page's own facts box has the downloads (the committed notebook, its learner version)
    "use_download_button": False,
    "use_fullscreen_button": False,
    "home_page_in_toc": True,
}
# the figures are drawn on white: light unless the reader switches (set, a first visit also
# avoids the theme's console error about an empty mode)
html_context = {"default_mode": "light"}
