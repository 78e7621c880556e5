"""In Chromium, every page at 1 400 and 1 024 px wide: axe-core finds no critical or serious
violation in the project's content, no label is cut or overlapping, charts carry a text
alternative, and users get the viewer toolbar (no « Deploy » button, no developer menu).

axe-core comes with axe-playwright-python (its bundled axe.min.js is injected in the page).
Screenshots of every page land in tests/artifacts/<page>-1400.png and -1024.png.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests import test_browser as _browser
from tests.test_browser import ARTIFACTS, PAGES, assert_no_error, ready_since, wait_ready
from tests.test_browser_access import ensure_accounts, login

server, browser, tab, page = _browser.server, _browser.browser, _browser.tab, _browser.page

WIDTHS = (1400, 1024)
QUERY = "contrat=AMBOISE-2015&annee=2022"

# Violations inside Streamlit's own widgets, which the project cannot change, by axe rule:
# (CSS selector of the widget, reason). Only these nodes are excused; the same rule anywhere
# in the project's content still fails the test.
# With Streamlit 1.67 none is critical or serious on any page (checked 2026-12-02, every page
# at both widths, anonymous and as a contributor), so nothing is excused. Below that level axe
# reports, for the record: « presentation-role-conflict » (minor) on the file uploader's drop
# zone (Streamlit gives a focusable <section> role="presentation"), and « heading-order »
# (moderate) where a page goes from its title (h1) to st.subheader (h3).
STREAMLIT_INTERNAL: dict[str, tuple[str, str]] = {}

# What may never be cut: text Streamlit shows with an ellipsis or in a fixed-size box.
TEXT = ", ".join([
    "[data-testid='stMetricLabel'] *", "[data-testid='stMetricValue'] *",
    "[data-testid='stWidgetLabel'] p", "[data-testid='stPageLink'] p", "button p",
    "[data-testid='stExpander'] summary p", "[data-testid='stTab'] p",
    "[data-testid='stCaptionContainer']", "[data-testid='stMarkdownContainer'] p",
    "[data-testid='stMultiSelectTagsContainer']",
    "[data-testid='stSidebarNav'] span:not([data-testid='stIconEmoji'])",
])

PROBE = """(selectors) => {
  const cut = [], overlap = [], charts = [];
  const visible = (el) => el.getClientRects().length > 0;
  const name = (el) => (el.dataset.testid || el.tagName) + ': ' + el.textContent.trim().slice(0, 70);
  const root = document.querySelectorAll('[data-testid="stMain"], [data-testid="stSidebar"]');
  for (const r of root) {
    for (const el of r.querySelectorAll(selectors)) {
      if (visible(el) && el.scrollWidth > el.clientWidth + 1) cut.push(name(el));
    }
    for (const el of r.querySelectorAll('*')) {  // anything Streamlit ends with « … »
      const cs = getComputedStyle(el);
      if (cs.textOverflow === 'ellipsis' && visible(el) && el.textContent.trim()
          && el.scrollWidth > el.clientWidth + 1) cut.push('ellipsis ' + name(el));
    }
  }
  // The sidebar's pickers show their value in a text box, which cannot wrap.
  for (const el of document.querySelectorAll('[data-testid="stSidebar"] input')) {
    if (visible(el) && el.scrollWidth > el.clientWidth + 1) cut.push('input: ' + el.value);
  }
  const box = (e) => e.getBoundingClientRect();
  const meets = (a, b) => a.width > 0 && b.width > 0 && a.left < b.right - 1 &&
    b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const svg = box(plot.querySelector('.main-svg'));
    const title = plot.querySelector('.gtitle');
    charts.push(title ? title.textContent.trim() : '');
    const axisTitles = [...plot.querySelectorAll('.g-xtitle text, .g-ytitle text')];
    const legend = [...plot.querySelectorAll('.legend .traces')];
    const ticks = [...plot.querySelectorAll('.xtick text, .ytick text')];
    for (const t of axisTitles) {
      for (const o of [...legend, ...ticks]) {
        if (meets(box(t), box(o))) overlap.push(t.textContent + ' / ' + o.textContent);
      }
    }
    for (const e of [...legend, ...(title ? [title] : []), ...axisTitles]) {
      const b = box(e);
      if (b.width && (b.left < svg.left - 1 || b.right > svg.right + 1 ||
                      b.top < svg.top - 1 || b.bottom > svg.bottom + 1)) {
        overlap.push('outside the chart: ' + e.textContent.slice(0, 70));
      }
    }
  }
  // The status bars (inline SVG): drawn, titled, every text inside the chart.
  for (const svg of document.querySelectorAll('svg.status-bars')) {
    const frame = box(svg);
    const title = svg.querySelector(':scope > title');
    charts.push(title && frame.width > 100 && frame.height > 50 ? title.textContent.trim() : '');
    for (const t of svg.querySelectorAll(':scope > text')) {
      const b = box(t);
      if (b.width && (b.left < frame.left - 1 || b.right > frame.right + 1 ||
                      b.top < frame.top - 1 || b.bottom > frame.bottom + 1)) {
        overlap.push('outside the chart: ' + t.textContent.slice(0, 70));
      }
    }
  }
  return {cut, overlap, charts};
}"""


def project_violations(page: Page) -> list[str]:
    """Critical and serious axe violations, minus the nodes of Streamlit's own widgets
    listed in STREAMLIT_INTERNAL."""
    found = []
    for v in Axe().run(page).response["violations"]:
        if v["impact"] not in ("critical", "serious"):
            continue
        excused = STREAMLIT_INTERNAL.get(v["id"], (None,))[0]
        for node in v["nodes"]:
            selector = node["target"][-1] if node["target"] else ""
            inside = excused and page.evaluate(
                "([s, w]) => { const e = document.querySelector(s); return !!(e && "
                "(e.matches(w) || e.closest(w))); }", [selector, excused])
            if not inside:
                found.append(f"{v['id']} ({v['impact']}): {node['html'][:160]} – "
                             f"{node['failureSummary'][:200]}")
    return found


def visit(page: Page, url: str, path: str) -> None:
    """Open a page by its sidebar link, as a person goes from page to page, and wait until it
    is drawn; the test's first page, and a page without a link, by its URL. A full reload
    per page cost 1-2 s; every page's own URL is opened by test_browser's
    test_every_page_loads_without_error."""
    title = PAGES[path]
    link = page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=title)
    if page.url.startswith(url) and link.count():
        link.first.click()
    else:
        page.goto(f"{url}/{path}?{QUERY}")
    ready_since(page, title=title)


def check_page(page: Page, name: str, width: int, ready: bool = False) -> None:
    if not ready:
        wait_ready(page)
    assert_no_error(page)
    # Scroll through the main area so that lazily drawn charts are laid out, then back up.
    page.evaluate("() => { const m = document.querySelector('[data-testid=\"stMain\"]'); "
                  "m.scrollTo(0, m.scrollHeight); m.scrollTo(0, 0); }")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    got = page.evaluate(PROBE, TEXT)
    assert got["cut"] == [], f"{name} at {width} px: text cut off: {got['cut']}"
    assert got["overlap"] == [], f"{name} at {width} px: chart labels overlap: {got['overlap']}"
    assert all(got["charts"]), f"{name}: a chart without a title, or an empty one"
    if name == "vue-ensemble":  # its three status bars are SVG drawn in the page
        assert [c for c in got["charts"] if c.startswith("Statut des séries par")] == [
            "Statut des séries par pilier", "Statut des séries par priorité",
            "Statut des séries par quartier"], got["charts"]
    if got["charts"]:  # the text alternative: the numbers of every chart in a table
        assert page.locator("[data-testid='stDataFrame'], [data-testid='stTable'], "
                            "[data-testid='stExpander']").count() > 0, name
    violations = project_violations(page)
    assert violations == [], f"{name} at {width} px: " + "\n".join(violations)


def viewer_toolbar(page: Page) -> None:
    """No « Deploy » button and no developer entries in the menu."""
    assert page.locator("[data-testid='stAppDeployButton']").count() == 0
    assert page.get_by_role("button", name="Deploy").count() == 0
    menu = page.locator("[data-testid='stMainMenu']")
    if menu.count():
        menu.click()
        popover = page.locator("[data-testid='stMainMenuPopover']")
        popover.wait_for()
        text = popover.inner_text()
        assert "Clear cache" not in text and "Rerun" not in text and "Deploy" not in text
        page.keyboard.press("Escape")


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_is_accessible_and_nothing_is_cut(server, page, width):
    page.set_viewport_size({"width": width, "height": 1000})  # before the first page loads
    for path in PAGES:
        visit(page, server["url"], path)
        check_page(page, path or "vue-ensemble", width, ready=True)
    viewer_toolbar(page)
    # The Import page as a contributor sees it (file uploader, batch history).
    ensure_accounts(server["db"])
    page.goto(f"{server['url']}/import?{QUERY}")
    wait_ready(page)
    login(page, "carla")
    assert page.locator("input[type='file']").count() == 1
    check_page(page, "import-contributeur", width)


def test_the_probe_sees_a_cut_label_and_an_overlap(server, page):
    """The checks above are not vacuous: a metric label forced back to one line with an
    ellipsis, and a chart's legend moved onto its x-axis title, are both reported."""
    page.set_viewport_size({"width": 1024, "height": 1000})
    page.goto(f"{server['url']}/?{QUERY}")
    wait_ready(page)
    page.add_style_tag(content="html body [data-testid='stMetricLabel'] * { white-space: nowrap "
                               "!important; overflow: hidden !important; text-overflow: "
                               "ellipsis !important; }")
    got = page.evaluate(PROBE, TEXT)
    assert any("accélération" in c for c in got["cut"]), got["cut"]
    # The indicator's chart (plotly), its legend moved onto the years' axis title.
    page.goto(f"{server['url']}/fiche-indicateur?{QUERY}")
    wait_ready(page)
    page.evaluate("""() => {
      const p = document.querySelector('.js-plotly-plot');
      const t = p.querySelector('.g-xtitle text').getBoundingClientRect();
      const legend = p.querySelector('.legend'), l = legend.getBoundingClientRect();
      const m = legend.getAttribute('transform').match(/translate\\(([-\\d.]+)[ ,]+([-\\d.]+)\\)/);
      legend.setAttribute('transform',
        `translate(${+m[1] + t.left - l.left}, ${+m[2] + t.top - l.top})`);
    }""")
    got = page.evaluate(PROBE, TEXT)
    assert any(o.startswith("année / ") for o in got["overlap"]), got["overlap"]
    # And axe reports pale text placed in the page's own content.
    page.evaluate("() => { const p = document.createElement('p'); p.textContent = "
                  "'Texte trop pâle'; p.style.color = '#c8c8c8'; document.querySelector("
                  "'[data-testid=\"stMainBlockContainer\"]').prepend(p); }")
    assert any("color-contrast" in v and "Texte trop pâle" in v
               for v in project_violations(page))
