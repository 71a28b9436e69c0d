"""The browser half of tests/console/test_console.sh: headless Chromium
driven by Selenium through the agent's desktop and the supervisor's
wallboard, with the security checks made on the side with plain HTTPS
requests. Everything comes from the environment the shell part sets."""
import json
import os
import re
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

E = os.environ
D, CJ = E["CONSOLE_DIR"], E["CONSOLE_CJ"]
SERVE, SUP, GW = E["CONSOLE_SERVE"], E["CONSOLE_SUP"], E["CONSOLE_GW"]
MSISDN, IDNO = E["CONSOLE_MSISDN"], E["CONSOLE_IDNO"]
XSS = "<img src=x onerror=alert(1)>"
NODES = {n["name"]: n for n in json.load(open(CJ))["nodes"]}
URL = {k: v["console"].rstrip("/") for k, v in NODES.items()}
TLS = ssl.create_default_context(cafile=json.load(open(CJ))["ca"])
TLS.check_hostname = False  # the nodes' certificates name their IP; fine for loopback
checks = 0


def check(cond, what):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1


def http(method, url, body=None, cookie=None, headers=None):
    """(status, headers, body text) of one HTTPS request."""
    h = dict(headers or {})
    if cookie:
        h["Cookie"] = cookie
    if body is not None:
        h["Content-Type"] = "application/x-www-form-urlencoded"
        body = body.encode()
    req = urllib.request.Request(url, data=body, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, context=TLS, timeout=10) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def csp_ok(headers):
    csp = headers.get("Content-Security-Policy") or ""
    return ("script-src 'self'" in csp and "frame-ancestors 'none'" in csp and
            "unsafe-inline" not in csp and headers.get("X-Content-Type-Options") == "nosniff")


def browser(profile="chromium"):
    o = webdriver.ChromeOptions()
    o.binary_location = E.get("CONSOLE_CHROMIUM", "/usr/bin/chromium")
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--ignore-certificate-errors", "--window-size=1366,768", "--lang=zh-CN",
              "--user-data-dir=" + os.path.join(D, profile)):
        o.add_argument(a)
    d = webdriver.Chrome(options=o)
    d.set_page_load_timeout(30)
    return d


def wait(d, what, fn, secs=30):
    try:
        return WebDriverWait(d, secs, poll_frequency=0.2,
                             ignored_exceptions=(WebDriverException,)).until(lambda _: fn())
    except Exception:
        status = ""
        try:
            status = d.find_element(By.ID, "status").text
            d.save_screenshot(os.path.join(E["CONSOLE_SHOTS"], "failed.png"))
        except Exception:
            pass
        raise AssertionError("timed out waiting for %s (url %s, status %r)" % (what, d.current_url, status))


def click_css(d, what, sel, secs=30):
    """Click the element sel: found again and clicked again while the page
    re-renders it (a wallboard or list refresh makes a found one stale)."""
    wait(d, what, lambda: d.find_element(By.CSS_SELECTOR, sel).click() or True, secs)


def text(d, id_):
    return d.find_element(By.ID, id_).text


def no_alert(d):
    try:
        d.switch_to.alert
        return False
    except NoAlertPresentException:
        return True


def login(d, url, agent):
    d.get(url + "/")
    wait(d, "the login form", lambda: d.find_element(By.ID, "login-agent").is_displayed())
    d.find_element(By.ID, "login-agent").send_keys(agent)
    d.find_element(By.ID, "login-password").send_keys("agent-secret-1")
    d.find_element(By.ID, "login-submit").click()
    wait(d, agent + " logged in", lambda: d.find_element(By.ID, "desk").is_displayed())


def kefuctl(*args):
    return subprocess.run([os.path.join(os.path.dirname(E["CONSOLE_SIM"]), "kefuctl"), "--cluster", CJ] +
                          list(args), capture_output=True, text=True, timeout=60)


def rows(d, css):
    return d.find_elements(By.CSS_SELECTOR, css)


def gateway(script, name):
    path = os.path.join(D, name + ".script")
    open(path, "w").write(script)
    out = open(os.path.join(D, name + ".out"), "w")
    return subprocess.Popen([E["CONSOLE_SIM"], "call", "--cluster", CJ, "--node", GW, "--as",
                             "gateway", "--script", path], stdout=out, stderr=subprocess.STDOUT)


def main():
    # ---- plain requests: headers, CSRF, the supervisor's page ----
    s, h, _ = http("GET", URL[SERVE] + "/")
    check(s == 200 and csp_ok(h), "the desktop's headers: %s" % dict(h))
    for path in ("/assets/agent.js", "/assets/console.css", "/api/session", "/sup", "/nope"):
        s, h, _ = http("GET", URL[SERVE] + path)
        check(csp_ok(h), "CSP on %s (%d)" % (path, s))
    s, _, b = http("GET", URL[SERVE] + "/sup")
    check(s == 403, "the supervisor's page without a session: %d %s" % (s, b))
    s, h, b = http("POST", URL[SERVE] + "/login", "agent_id=a01&password=agent-secret-1")
    check(s == 403 and "CSRF" in b and csp_ok(h), "a login without the CSRF token: %d %s" % (s, b))

    d = browser()
    try:
        run(d)
    finally:
        d.quit()
    print("ok: %d browser checks" % checks)


def run(d):
    # ---- the agent logs in and goes ready ----
    login(d, URL[SERVE], "a01")
    d.find_element(By.ID, "btn-ready").click()
    wait(d, "state ready", lambda: text(d, "state") == "就绪")
    check(d.find_element(By.ID, "sup-link").get_attribute("hidden") is not None, "an agent sees no 监控台 link")

    # An agent's cookie: no supervisor's page, no supervisor's message, no POST without its token.
    sid = d.get_cookie("__Host-kefu")
    check(sid and sid.get("httpOnly") and sid.get("secure") and sid.get("sameSite") == "Strict",
          "the session cookie's attributes: %s" % sid)
    cookie = "__Host-kefu=" + sid["value"]
    s, h, b = http("GET", URL[SERVE] + "/sup", cookie=cookie)
    check(s == 403 and csp_ok(h), "an agent's cookie opened the supervisor's page: %d" % s)
    s, h, _ = http("GET", URL[SERVE] + "/review", cookie=cookie)
    check(s == 200 and csp_ok(h), "the editors' review page for a session: %d" % s)
    s, _, _ = http("GET", URL[SERVE] + "/review")
    check(s == 403, "the editors' review page without a session: %d" % s)
    s, _, b = http("POST", URL[SERVE] + "/api/set_agent_state", "state=not_ready&reason=break", cookie=cookie)
    check(s == 403 and "CSRF" in b, "a POST without the CSRF token: %d %s" % (s, b))
    s, _, b = http("POST", URL[SERVE] + "/api/set_agent_state", "state=not_ready&csrf=" + "0" * 64, cookie=cookie)
    check(s == 403 and "CSRF" in b, "a POST with a wrong CSRF token: %d %s" % (s, b))
    s, _, b = http("GET", URL[SERVE] + "/api/session", cookie=cookie)
    check(json.loads(b)["agent"] == "a01", "the session lives on: %s" % b)
    time.sleep(0.5)
    check(text(d, "state") == "就绪", "a refused POST changed the state")

    # ---- a call: the offer with its screen pop, masked ----
    gw = gateway("send call_arrived call_id=web-1 ani=%s service=10086\n"
                 "expect ivr_plan call_id=web-1\n"
                 "expect connect_call call_id=web-1 within=30000\n"
                 "sleep 120000\n" % MSISDN, "gw")
    try:
        call(d)
    finally:
        gw.kill()
        gw.wait()


def others_orders(d):
    """Orders of s01's: G1 in a01's group (listed there, not as a01's own),
    G2 in another group (not listed); G1 opened with its history, a note
    added, accepted; then a transition the node refuses, with its error."""
    g1, g2 = E["CONSOLE_G1"], E["CONSOLE_G2"]
    grow, mrow = '#wo-group-list tr[data-order="%s"]' % g1, '#wo-mine-list tr[data-order="%s"]' % g1
    wait(d, "G1 in my group's list", lambda: len(rows(d, grow)) == 1)
    check(not rows(d, mrow), "another's order in my own list")
    check(not rows(d, '#orders-panel tr[data-order="%s"]' % g2), "an order of another group listed")
    check("backoffice" in text(d, "wo-groups"), "my groups: %r" % text(d, "wo-groups"))
    acts = d.find_element(By.CSS_SELECTOR, grow).get_attribute("data-actions").split()
    check("accept" in acts and "dispatch" not in acts and "cancel" not in acts,
          "a handler's actions on another's order: %s" % acts)
    clock = d.find_element(By.CSS_SELECTOR, grow + " td.clock").text
    check(re.search(r"剩余 \d+时\d+分", clock), "the clock as time left: %r" % clock)
    # Opened: its history and its notes; a note added.
    click_css(d, "the order's link", grow + " a.wo-open")
    wait(d, "G1 opened", lambda: d.find_element(By.ID, "wo-detail").is_displayed() and text(d, "wo-d-id") == g1)
    hist = [r.text for r in rows(d, "#wo-history tbody tr")]
    check(len(hist) == 2 and "创建" in hist[0] and "派单" in hist[1] and "已派单" in hist[1],
          "G1's history: %r" % hist)
    d.find_element(By.ID, "wo-d-note").send_keys("已电话联系客户，约明日答复")
    d.find_element(By.ID, "wo-d-note-submit").click()
    wait(d, "the note shown", lambda: "已电话联系客户" in text(d, "wo-notes"))
    check("已电话联系客户" in kefuctl("order", "show", g1, "--json").stdout, "the note as written")
    # Accepted from the group's list: a01 handles it, so it is a01's own too.
    Select(d.find_element(By.CSS_SELECTOR, grow + " select")).select_by_value("accept")
    wait(d, "G1 accepted, in my own list", lambda: rows(d, mrow) and "已接单" in d.find_element(By.CSS_SELECTOR, mrow).text)
    check("start" in d.find_element(By.CSS_SELECTOR, mrow).get_attribute("data-actions").split(),
          "the handler may start an accepted order")
    # Escalated meanwhile by an operator: the page still offers "start",
    # the node refuses it and the page shows why.
    out = kefuctl("order", "transition", g1, "escalate", "--note", "客户要求升级")
    check(out.returncode == 0, "escalate G1: %s %s" % (out.stdout, out.stderr))
    Select(d.find_element(By.CSS_SELECTOR, mrow + " select")).select_by_value("start")
    wait(d, "the node's refusal", lambda: d.find_element(By.ID, "wo-act-result").get_attribute("class") == "bad"
         and '"start"' in text(d, "wo-act-result") and "escalated" in text(d, "wo-act-result"))
    def escalated():
        if all("已升级" in r.text and "start" not in r.get_attribute("data-actions").split()
               for r in rows(d, '#orders-panel tr[data-order="%s"]' % g1)) and "已升级" in text(d, "wo-d-info"):
            return True
        d.find_element(By.ID, "wo-refresh").click()  # this node's replica may be a moment behind
        return False
    wait(d, "G1 escalated in the lists", escalated)


def call(d):
    wait(d, "the offer", lambda: "web-1" in text(d, "call-id"), 40)
    check(text(d, "pop-name") == XSS, "the customer's name as text: %r" % text(d, "pop-name"))
    check(not d.find_elements(By.CSS_SELECTOR, "#pop img, img"), "markup from a BOSS file became an element")
    check(no_alert(d), "markup from a BOSS file ran")
    masked = text(d, "pop-idno")
    check(masked != IDNO and "*" in masked, "the ID number unmasked before verification: %r" % masked)
    check(text(d, "pop-msisdn") == MSISDN, "the screen pop's number: %r" % text(d, "pop-msisdn"))
    check(not d.find_element(By.ID, "btn-bills").is_enabled(), "bills before verification")
    d.find_element(By.ID, "btn-answer").click()
    wait(d, "on call", lambda: text(d, "state") == "通话中")

    # ---- verification (the node decides), then bills ----
    d.find_element(By.ID, "verify-digits").send_keys("000000" if not IDNO.endswith("000000") else "111111")
    d.find_element(By.ID, "btn-verify").click()
    wait(d, "a failed check", lambda: "未通过" in text(d, "verify-result"))
    check(text(d, "pop-idno") == masked, "a failed check unmasked the ID number")
    f = d.find_element(By.ID, "verify-digits")
    f.clear()
    f.send_keys(IDNO[-6:])
    d.find_element(By.ID, "btn-verify").click()
    wait(d, "verified", lambda: text(d, "verify-result") == "核验通过")
    check(text(d, "pop-idno") == IDNO, "the ID number after verification: %r" % text(d, "pop-idno"))
    d.find_element(By.ID, "btn-bills").click()
    wait(d, "bills", lambda: len(d.find_elements(By.CSS_SELECTOR, "#bills tbody tr")) > 0)
    check(len(d.find_elements(By.CSS_SELECTOR, "#cdrs tbody tr")) > 0, "no CDRs shown")

    # ---- a work order from the call, through the category tree ----
    wait(d, "the category tree", lambda: len(d.find_elements(By.ID, "wo-cat-0")) == 1)
    Select(d.find_element(By.ID, "wo-cat-0")).select_by_value("话费")
    wait(d, "the second level", lambda: len(d.find_elements(By.ID, "wo-cat-1")) == 1)
    Select(d.find_element(By.ID, "wo-cat-1")).select_by_value("计费争议")
    d.find_element(By.ID, "wo-desc").send_keys("客户对本月话费有异议")
    d.find_element(By.ID, "wo-submit").click()
    wait(d, "the work order", lambda: "工单已创建" in text(d, "wo-result"))
    order = d.find_element(By.ID, "wo-result").get_attribute("data-order")
    check(re.fullmatch(r"[A-Z]{2}\d{14}", order or ""), "the work order's id: %r" % order)
    # It is in the agent's own list, where the owner dispatches it; then in
    # the list of its group, a01's, where a handler accepts it.
    row = '#wo-mine-list tr[data-order="%s"]' % order
    wait(d, "the order in my list", lambda: len(rows(d, row)) == 1)
    check(not rows(d, '#wo-group-list tr[data-order="%s"]' % order), "an order of no group in my group's list")
    acts = d.find_element(By.CSS_SELECTOR, row).get_attribute("data-actions").split()
    check("dispatch" in acts and "accept" not in acts, "the owner's actions on a new order: %s" % acts)
    Select(d.find_element(By.CSS_SELECTOR, row + " select")).select_by_value("dispatch")
    wait(d, "the order dispatched", lambda: "已派单" in d.find_element(By.CSS_SELECTOR, row).text)
    grow = '#wo-group-list tr[data-order="%s"]' % order
    wait(d, "the order in my group's list", lambda: len(rows(d, grow)) == 1)
    check("accept" in d.find_element(By.CSS_SELECTOR, grow).get_attribute("data-actions").split(),
          "a handler of the group may accept: %s" % d.find_element(By.CSS_SELECTOR, grow).get_attribute("data-actions"))
    out = kefuctl("order", "show", order, "--json")
    check(out.returncode == 0 and MSISDN in out.stdout and "计费争议" in out.stdout and "web-1" in out.stdout
          and '"dispatched"' in out.stdout and '"backoffice"' in out.stdout,
          "the order as written: %s %s" % (out.stdout, out.stderr))
    others_orders(d)

    # ---- the knowledge base while typing ----
    d.find_element(By.ID, "kb-q").send_keys("hfcx")
    wait(d, "KB results for hfcx", lambda: "话费查询方法" in text(d, "kb-results"))
    click_css(d, "the first hit", "#kb-results li.kb-hit")
    wait(d, "the article read", lambda: "CXHF" in text(d, "kb-body") and "浏览 1" in text(d, "kb-stats"))
    d.find_element(By.ID, "kb-used").click()
    wait(d, "used in reply counted", lambda: "引用 1" in text(d, "kb-stats"))
    d.execute_script("window.scrollTo(0, 0)")
    d.save_screenshot(os.path.join(E["CONSOLE_SHOTS"], "agent-desktop.png"))
    agent_tab = d.current_window_handle

    # ---- the supervisor's wallboard (another host name: cookies of its own) ----
    d.switch_to.new_window("tab")
    sup = URL[SUP].replace("127.0.0.1", "localhost")
    login(d, sup, "s01")
    check(d.find_element(By.ID, "sup-link").is_displayed(), "a supervisor sees the 监控台 link")
    d.find_element(By.ID, "sup-link").click()
    wait(d, "a01 on call on the wallboard", lambda: any(
        "a01" in r.text and "通话中" in r.text for r in d.find_elements(By.CSS_SELECTOR, "#wb-agents tbody tr")))
    wait(d, "the talking agent in a skill row", lambda: any(
        int(r.find_elements(By.TAG_NAME, "td")[5].text or 0) >= 1
        for r in d.find_elements(By.CSS_SELECTOR, "#wb-skills tbody tr")))
    wait(d, "the call in the interval chart", lambda: any(
        float(r.get_attribute("height") or 0) > 0 for r in d.find_elements(By.CSS_SELECTOR, "#chart svg rect.answered")))
    check(any(int(r.find_elements(By.TAG_NAME, "td")[2].text or 0) >= 1
              for r in d.find_elements(By.CSS_SELECTOR, "#report tbody tr")), "the call in the report's table")
    def overdue():
        if not rows(d, '#overdue tr[data-order="%s"]' % E["CONSOLE_G2"]):
            d.find_element(By.ID, "btn-overdue").click()
            return False
        return True
    wait(d, "the overdue order G2 on the supervisor's page", overdue)
    check(not rows(d, '#overdue tr[data-order="%s"]' % E["CONSOLE_G1"]), "an order on time listed overdue")
    check("netops" in d.find_element(By.CSS_SELECTOR, '#overdue tr[data-order="%s"]' % E["CONSOLE_G2"]).text
          and "超时" in d.find_element(By.CSS_SELECTOR, '#overdue tr[data-order="%s"]' % E["CONSOLE_G2"]).text,
          "the overdue row: %r" % d.find_element(By.CSS_SELECTOR, '#overdue tr[data-order="%s"]' % E["CONSOLE_G2"]).text)
    wait(d, "the campaigns loaded", lambda: rows(d, "#campaigns tbody tr"))
    check(d.find_element(By.ID, "status").get_attribute("class") != "bad",
          "the supervisor's page reported an error: %r" % text(d, "status"))
    d.execute_script("window.scrollTo(0, 0)")
    d.save_screenshot(os.path.join(E["CONSOLE_SHOTS"], "wallboard.png"))

    # ---- the review page: the new version beside the live one, approved ----
    d.get(sup + "/review")
    wait(d, "article 1 in review", lambda: len(d.find_elements(By.CSS_SELECTOR, '#review-list tr[data-article="1"]')) == 1)
    click_css(d, "article 1 in the review list", '#review-list tr[data-article="1"]')
    wait(d, "both versions side by side", lambda: "CXHF" in text(d, "live-body") and "手机营业厅" in text(d, "review-body"))
    d.find_element(By.ID, "btn-approve").click()
    wait(d, "an answer to the approval", lambda: text(d, "review-result"))
    check(text(d, "review-result") == "已批准发布", "the approval: %r" % text(d, "review-result"))
    wait(d, "the new version live", lambda: "手机营业厅" in text(d, "live-body"))
    d.close()
    d.switch_to.window(agent_tab)

    # ---- a second supervisor's page, on the node about to die (a browser
    # of its own: cookies are per host name) ----
    d2 = browser("chromium-sup")
    try:
        die_and_move(d, d2)
    finally:
        d2.quit()


def sup_sees_a01(d2):
    return any("a01" in r.text for r in rows(d2, "#wb-agents tbody tr"))


def die_and_move(d, d2):
    login(d2, URL[SERVE], "s01")
    d2.get(URL[SERVE] + "/sup")
    wait(d2, "the wallboard on the dying node", lambda: sup_sees_a01(d2))

    # ---- the serving node dies mid-call ----
    subprocess.run([E["CONSOLE_HARNESS"], "kill", SERVE, "--dir", D], check=True, timeout=60,
                   capture_output=True)
    wait(d, "the page on another node", lambda: not d.current_url.startswith(URL[SERVE]), 60)
    wait(d, "the session resumed", lambda: d.find_element(By.ID, "desk").is_displayed()
         and "恢复" in text(d, "status"), 30)
    check("web-1" in text(d, "call-id"), "the call after the move: %r" % text(d, "call-id"))
    check(text(d, "pop-name") == XSS, "the screen pop after the move")
    wait(d, "on call after the move", lambda: text(d, "state") == "通话中")
    # The supervisor's page moved too, to the wallboard of another node.
    wait(d2, "the supervisor's page on another node", lambda: not d2.current_url.startswith(URL[SERVE])
         and d2.current_url.split("#")[0].endswith("/sup"), 60)
    wait(d2, "a01 on call on the wallboard after the move", lambda: text(d2, "who") == "s01" and any(
        "通话中" in r.text for r in rows(d2, '#wb-agents tr[data-agent="a01"]')))
    # The node there knows the call is verified: bills without a new check.
    d.find_element(By.ID, "btn-bills").click()
    wait(d, "bills after the move", lambda: len(d.find_elements(By.CSS_SELECTOR, "#bills tbody tr")) > 0)

    # ---- hang up and wrap up on the new node ----
    d.find_element(By.ID, "btn-hangup").click()
    wait(d, "wrap-up", lambda: text(d, "state") == "话后整理")
    d.find_element(By.ID, "btn-wrapdone").click()
    wait(d, "ready again", lambda: text(d, "state") == "就绪")
    check(not d.find_element(By.ID, "call").is_displayed(), "the call still shown after wrap-up")
    # The moved supervisor's wallboard is live: a01 ready again there.
    wait(d2, "a01 ready on the moved wallboard", lambda: any(
        "就绪" in r.text for r in rows(d2, '#wb-agents tr[data-agent="a01"]')))

    # ---- outbound preview: a contact shown, skipped with a reason; the
    # next dialled, answered by a person and put through: its screen pop,
    # the disposition ----
    gw = gateway("send dial_gateway lines=2\n"
                 "expect admin_reply ok=true\n"
                 "expect originate campaign=web-preview within=90000\n"
                 "send dial_result attempt_id=@attempt_id campaign=web-preview result=human\n"
                 "expect dial_connect agent=a01 drop=false\n"
                 "sleep 120000\n", "gw-dial")
    try:
        outbound(d)
    finally:
        gw.kill()
        gw.wait()
    supervise(d, d2)


def outbound(d):
    d.find_element(By.ID, "dial-campaign").send_keys("web-preview")
    d.find_element(By.ID, "dial-join").click()
    wait(d, "joined the campaign", lambda: "已加入" in text(d, "dial-result"))
    d.find_element(By.ID, "dial-next").click()
    wait(d, "a contact previewed", lambda: re.fullmatch(r"1\d{10}", text(d, "dial-msisdn")) if d.find_elements(By.ID, "dial-msisdn") else False)
    d.find_element(By.ID, "dial-skip-reason").send_keys("客户已在营业厅缴费")
    d.find_element(By.ID, "dial-skip").click()
    wait(d, "the contact skipped", lambda: "已跳过" in text(d, "dial-result"))
    out = subprocess.run([os.path.join(os.path.dirname(E["CONSOLE_SIM"]), "kefuctl"), "--cluster", CJ,
                          "campaign", "show", "web-preview", "--json"], capture_output=True, text=True, timeout=60)
    check(out.returncode == 0 and '"skipped"' in out.stdout, "the skip as written: %s %s" % (out.stdout, out.stderr))

    d.find_element(By.ID, "dial-next").click()
    wait(d, "the next contact previewed", lambda: re.fullmatch(r"1\d{10}", text(d, "dial-msisdn")) if rows(d, "#dial-msisdn") else False)
    number = text(d, "dial-msisdn")
    d.find_element(By.ID, "dial-dial").click()
    wait(d, "the outbound screen pop", lambda: d.find_element(By.ID, "dial-pop-panel").is_displayed()
         and text(d, "dial-pop-number") == number, 60)
    idno = text(d, "dial-pop-idno")
    check("*" in idno, "the outbound screen pop unmasked: %r" % idno)
    check(not rows(d, "#dial-pop img"), "markup in the outbound screen pop")
    check(text(d, "dial-pop-msisdn") == number and text(d, "dial-pop-name") not in ("", "-"),
          "the subscriber's profile in the outbound screen pop: %r" % text(d, "dial-pop"))
    check(text(d, "dial-pop-attempt"), "the attempt of the screen pop")
    Select(d.find_element(By.ID, "dial-dispo")).select_by_value("promise")
    d.execute_script("document.getElementById('dial-promise').value = '2026-12-31'")
    d.find_element(By.ID, "dial-note").send_keys("月底前缴清")
    d.find_element(By.ID, "dial-dispo-submit").click()
    wait(d, "the disposition recorded", lambda: "结果已记录" in text(d, "dial-result"))
    show = json.loads(kefuctl("campaign", "show", "web-preview", "--json").stdout or "{}")
    check(show.get("by_disposition", {}).get("promise") == 1 and show.get("placed") == 1,
          "the disposition as written: %s" % show)


def supervise(d, d2):
    """Last: the supervisor logs a01 out from the wallboard; a01's page ends."""
    btn = '#wb-agents tr[data-agent="a01"] button'
    click_css(d2, "a01's logout button", btn)
    WebDriverWait(d2, 5).until(lambda _: not no_alert(d2))
    d2.switch_to.alert.accept()
    wait(d2, "the forced logout answered", lambda: "已强制登出 a01" in text(d2, "status"))
    wait(d, "a01's page ended", lambda: d.find_element(By.ID, "login-view").is_displayed())
    wait(d2, "a01 logged out on the wallboard", lambda: any(
        "已登出" in r.text for r in rows(d2, '#wb-agents tr[data-agent="a01"]')) or not rows(d2, '#wb-agents tr[data-agent="a01"]'))

    # ---- a01 again, last: a supervisor's message on the agent's session, with its token ----
    here = re.match(r"https://[^/]+", d.current_url).group(0)
    login(d, here, "a01")
    cookie = "__Host-kefu=" + d.get_cookie("__Host-kefu")["value"]
    csrf = json.loads(http("GET", here + "/api/session", cookie=cookie)[2])["csrf"]
    s, _, b = http("POST", here + "/api/report", "by=tier&csrf=" + csrf, cookie=cookie)
    check(s == 200 and json.loads(b)["type"] == "error" and "supervisor" in b and '"report_reply"' not in b,
          "a supervisor's message on an agent's session: %d %s" % (s, b))
    check(no_alert(d), "an alert on the page")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL:", e, file=sys.stderr)
        sys.exit(1)
