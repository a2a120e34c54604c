// qsign's pages in Debian's headless Chromium, driven by playwright-core. Run by
// tests/it/web.rs, which starts the service, makes the accounts and the organisation, and then
// checks the downloaded files with pdfsig and pyHanko. Configuration: a JSON file named by
// WEB_TEST_CONFIG ({base, password, alice, bob, cvr, pdf, out, shots}); results are written to
// out/results.json. Any failed expectation ends the run with a message and exit code 1.
import { createHash, createHmac, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const config = JSON.parse(readFileSync(process.env.WEB_TEST_CONFIG, "utf8"));
mkdirSync(config.shots, { recursive: true });
const results = { steps: [] };

function expect(condition, message) {
  if (!condition) {
    throw new Error(`expectation failed: ${message}`);
  }
}

// RFC 6238 TOTP (SHA-1, 6 digits, 30 s), as an authenticator app computes it.
function totp(secretBase32) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secretBase32.replace(/=+$/, "")) {
    bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  usedSteps.set(secretBase32, Math.floor(Date.now() / 1000 / 30));
  return String(code).padStart(6, "0");
}

// The service takes each code once (a replayed code is refused): a second code of the same
// person waits for the next 30-second step.
const usedSteps = new Map();
async function freshTotp(secretBase32) {
  while (usedSteps.has(secretBase32) && Math.floor(Date.now() / 1000 / 30) <= usedSteps.get(secretBase32)) {
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return totp(secretBase32);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});

const people = [];

// A person's own browser: fresh cookies, a virtual platform authenticator with user
// verification, and watchers that fail the run on a script dialog or a CSP violation.
async function personBrowser(name, locale = "en-GB") {
  const context = await browser.newContext({ acceptDownloads: true, locale, viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on("dialog", async (d) => {
    problems.push(`dialog: ${d.message()}`);
    await d.dismiss();
  });
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/.test(m.text())) {
      problems.push(`csp: ${m.text()}`);
    }
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  const who = { name, context, page, cdp, authenticatorId, problems };
  people.push(who);
  return who;
}

async function shot(page, name) {
  await page.screenshot({ path: join(config.shots, `${name}.png`), fullPage: true });
  await accessible(page, name);
}

// axe-core (WCAG 2.0, 2.1 and 2.2, levels A and AA) on the page as it stands: every
// violation is kept with the page state it was found in, and the run fails at the end if
// there is any. The script goes in through the DevTools protocol (page.evaluate), which the
// page's Content-Security-Policy does not govern; the page itself is not changed.
const axeSource = readFileSync(new URL("./node_modules/axe-core/axe.min.js", import.meta.url), "utf8");
results.axe = { checked: [], violations: [] };
async function accessible(page, label) {
  if (!page.url().startsWith(config.base)) {
    return;
  }
  if (!(await page.evaluate(() => Boolean(window.axe)))) {
    // A string is evaluated as a protocol expression, outside the page's CSP (no eval).
    await page.evaluate(axeSource);
  }
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] },
      resultTypes: ["violations"],
    });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  const lang = await page.evaluate(() => document.documentElement.lang);
  results.axe.checked.push(`${label} (${lang})`);
  for (const v of found) {
    results.axe.violations.push({ page: `${label} (${lang})`, ...v });
  }
}

const url = (path) => `${config.base}${path}`;

async function login(who, secret) {
  const { page } = who;
  await page.goto(url("/"));
  await page.fill("#username", who.name);
  await page.fill("#password", config.password);
  await page.fill("#otp", totp(secret));
  await Promise.all([page.waitForNavigation(), page.click("#login button[type=submit]")]);
  const loa = await page.textContent("#loa");
  expect(loa.trim() === "Substantial", `${who.name}: level after password and code is ${loa}`);
}

async function enrolPasskeyAndStepUp(who, enrolmentCode) {
  const { page } = who;
  await page.goto(url("/account"));
  // A Substantial session (password and a code, both phishable) cannot bind a passkey alone.
  await page.click("#enrol-passkey");
  await page.waitForFunction(() => document.getElementById("notice").textContent.length > 0);
  const refused = await page.textContent("#notice");
  expect(/insufficient_loa|LoA\/high/i.test(refused), `${who.name}: a passkey without the enrolment code was refused (${refused})`);
  // The failure is said in place: focus on the message, with the support reference and the
  // next step, the service's English words marked as English on a page in another language.
  expect((await page.evaluate(() => document.activeElement && document.activeElement.id)) === "notice", `${who.name}: the focus moved to the message`);
  expect(/Support reference: [0-9a-f-]{36}/.test(refused) && /Try again/.test(refused), `${who.name}: reference and next step in the message (${refused})`);
  await page.fill("#enrolment-code", enrolmentCode);
  await Promise.all([page.waitForURL(/done=passkey-added/), page.click("#enrol-passkey")]);
  expect((await page.locator("#passkeys li").count()) === 1, `${who.name}: one passkey listed`);
  const { credentials } = await who.cdp.send("WebAuthn.getCredentials", { authenticatorId: who.authenticatorId });
  expect(credentials.length === 1, `${who.name}: the virtual authenticator holds the passkey`);
  await Promise.all([page.waitForURL(/done=stepped-up/), page.click("#stepup")]);
  const loa = await page.textContent("#loa");
  expect(loa.trim() === "High", `${who.name}: level after the passkey step-up is ${loa}`);
}

// Uploads a file for signing and returns the review page's URL.
async function upload(who, file, options = {}) {
  const { page } = who;
  await page.goto(url("/"));
  await page.setInputFiles("#file", file);
  // The format follows the file and B-LT is the default; the expert choices are behind "more
  // options".
  expect((await page.inputValue("#format")) === "auto", "the format is chosen from the file by default");
  expect(!(await page.isVisible("#level")), "the expert choices start folded away");
  await page.click("#more-options summary");
  await page.selectOption("#level", options.level || "B-LT");
  if (options.reason) {
    await page.fill("#reason", options.reason);
  }
  if (options.visible) {
    await page.check("#visible");
    await page.selectOption("#corner", options.visible);
  }
  await Promise.all([page.waitForNavigation(), page.click("form[enctype] button[type=submit]")]);
  return page.url();
}

async function credentialLabels(page) {
  return page.$$eval("#credential option", (os) => os.map((o) => o.textContent));
}

async function approveWithPasskey(who, matching, savePath) {
  const { page } = who;
  const labels = await credentialLabels(page);
  const label = labels.find((l) => matching.test(l));
  expect(label, `${who.name}: a credential matching ${matching} among ${labels}`);
  await page.selectOption("#credential", { label });
  await Promise.all([page.waitForURL(/\/done/), page.click("#approve-passkey")]);
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  await download.saveAs(savePath);
  return download.suggestedFilename();
}

// The page fits a 320 px wide phone screen: nothing scrolls sideways.
async function fitsPhone(page, label) {
  await accessible(page, label);
  await page.setViewportSize({ width: 320, height: 640 });
  const [scroll, inner] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  await shot(page, `phone-${label.replace(/[^a-z0-9]+/gi, "_")}`);
  await page.setViewportSize({ width: 1100, height: 900 });
  expect(scroll <= inner, `${label} fits 320 px (its width is ${scroll} px)`);
}

async function pagesShown(page) {
  await page.waitForFunction(
    () => {
      const images = [...document.querySelectorAll(".pages img")];
      return images.length > 0 && images.every((i) => i.complete && i.naturalWidth > 0);
    },
    null,
    { timeout: 30000 },
  );
  return page.locator(".pages img").count();
}

try {
  // 1. A citizen logs in, enrols a passkey, steps up, uploads a PDF, sees its pages,
  //    approves with the passkey and downloads the signed PDF.
  const alice = await personBrowser("alice");
  await alice.page.goto(url("/"));
  await shot(alice.page, "01-login");
  await login(alice, config.alice);
  await enrolPasskeyAndStepUp(alice, config.alice_code);
  await shot(alice.page, "02-account");
  await upload(alice, config.pdf, { level: "B-LT", reason: "<b>Agreed</b>", visible: "bottom-right" });
  const alicePages = await pagesShown(alice.page);
  expect(alicePages === 2, `two pages drawn, saw ${alicePages}`);
  const sha = (await alice.page.textContent("#doc-sha256")).trim();
  expect(sha === config.pdf_sha256, `the review shows the file's SHA-256 (${sha})`);
  await shot(alice.page, "03-review");
  // What is signed can be read as text (a screen reader reads it) and opened as the file.
  const aliceReview = alice.page.url();
  await Promise.all([alice.page.waitForNavigation(), alice.page.click("#doc-text-link")]);
  const text = await alice.page.textContent("main");
  expect(/Tenancy agreement, page 1/.test(text) && /page 2/.test(text), `the document's text, page by page: ${text.slice(0, 300)}`);
  await fitsPhone(alice.page, "document text");
  await alice.page.goto(aliceReview);
  const [original] = await Promise.all([alice.page.waitForEvent("download"), alice.page.click("#doc-file-link")]);
  const originalPath = join(config.out, "original.pdf");
  await original.saveAs(originalPath);
  const originalSha = createHash("sha256").update(readFileSync(originalPath)).digest("hex");
  expect(originalSha === config.pdf_sha256, `the file itself opens, unchanged (${originalSha})`);
  expect((await alice.page.locator(".pages figcaption a").count()) === 2, "each page has a larger view");
  const first = join(config.out, "signed-once.pdf");
  results.first_name = await approveWithPasskey(alice, /Qualified/, first);
  await shot(alice.page, "04-signed");
  results.steps.push("citizen signed");

  // 2. A second signer signs the signed PDF.
  const bob = await personBrowser("bob");
  await login(bob, config.bob);
  await enrolPasskeyAndStepUp(bob, config.bob_code);
  await upload(bob, first, { level: "B-LT" });
  expect((await pagesShown(bob.page)) === 2, "the signed PDF's pages are drawn");
  const second = join(config.out, "signed-twice.pdf");
  await approveWithPasskey(bob, /Qualified/, second);
  results.steps.push("second signer signed");

  // 3. My signatures: the signature is in the person's own history.
  await bob.page.goto(url("/history"));
  const history = await bob.page.textContent("#history");
  expect(/signature_made/i.test(history), `the history lists the signature: ${history.slice(0, 300)}`);
  expect(/Signature made/.test(history) && /Logged in/.test(history), `the history says what happened in words: ${history.slice(0, 300)}`);
  const shownTime = await bob.page.textContent("#history time");
  expect(!/T\d\d:\d\d:\d\dZ/.test(shownTime), `times shown in the reader's time zone, not raw UTC: ${shownTime}`);
  await shot(bob.page, "05-history");

  // 4. A verifier (no login, Danish browser) sees the verdict and both signers.
  const verifier = await personBrowser("verifier", "da-DK");
  await verifier.page.goto(url("/verify"));
  expect((await verifier.page.getAttribute("html", "lang")) === "da", "Danish for a Danish browser");
  await verifier.page.setInputFiles("#file", second);
  await Promise.all([verifier.page.waitForNavigation(), verifier.page.click("form button[type=submit]")]);
  const verdict = (await verifier.page.textContent("#verdict")).trim();
  const signers = await verifier.page.$$eval("dd.signer", (d) => d.map((x) => x.textContent.trim()));
  results.verdict = verdict;
  results.signers = signers;
  const reportNow = JSON.parse(Buffer.from((await verifier.page.getAttribute("#json-report", "href")).split(",")[1], "base64").toString("utf8"));
  expect(verdict === "Alle underskrifter er gyldige.", `the verdict: ${verdict}: ${JSON.stringify(reportNow.signatures.map((s) => [s.indication, s.sub_indication, s.errors, s.coverage]))}`);
  expect(signers.some((s) => s.includes("Alice")) && signers.some((s) => s.includes("Bo")), `both signers: ${signers}`);
  const jsonHref = await verifier.page.getAttribute("#json-report", "href");
  const report = JSON.parse(Buffer.from(jsonHref.split(",")[1], "base64").toString("utf8"));
  expect(report.indication === "TOTAL-PASSED", "the JSON report says TOTAL-PASSED");
  await shot(verifier.page, "06-report");
  await verifier.page.click("a[hreflang=en]");
  expect((await verifier.page.getAttribute("html", "lang")) === "en", "the language switch works");

  // 5. An administrator grants and revokes sign_on_behalf; the member's employee credential
  //    comes and goes.
  await alice.page.goto(url(`/org/${config.cvr}`));
  await alice.page.fill("#invitee", "bob");
  await Promise.all([alice.page.waitForNavigation(), alice.page.click("form[action*=invite] button")]);
  const message = await alice.page.textContent("#message");
  const code = message.trim().split(/\s+/).pop();
  expect(code.length > 10, `an invitation code is shown: ${message}`);
  await bob.page.goto(url("/org"));
  await bob.page.fill("#code", code);
  await Promise.all([bob.page.waitForNavigation(), bob.page.click("form[action*=accept] button")]);
  expect((await bob.page.textContent("#orgs")).includes(config.cvr), "bob is a member");
  const review = await upload(bob, config.pdf, { level: "B-T" });
  expect(!(await credentialLabels(bob.page)).some((l) => l.includes(config.cvr)), "no employee credential before the grant");
  await alice.page.goto(url(`/org/${config.cvr}`));
  const bobRow = alice.page.locator("tr[data-username=bob]");
  await Promise.all([alice.page.waitForURL(/done=right/), bobRow.locator("button", { hasText: "Grant sign_on_behalf" }).click()]);
  await shot(alice.page, "07-organisation");
  await bob.page.goto(review);
  const granted = await credentialLabels(bob.page);
  expect(granted.some((l) => l.includes(config.cvr)), `an employee credential after the grant: ${granted}`);
  await Promise.all([alice.page.waitForURL(/done=right/), bobRow.locator("button", { hasText: "Revoke sign_on_behalf" }).click()]);
  await bob.page.goto(review);
  const revoked = await credentialLabels(bob.page);
  expect(!revoked.some((l) => l.includes(config.cvr)), `no employee credential after the revocation: ${revoked}`);
  await alice.page.goto(url(`/org/${config.cvr}`));
  const audit = await alice.page.textContent("#audit");
  expect(/right_granted/.test(audit) && /right_revoked/.test(audit), "the organisation's audit trail shows the grant and the revocation");
  results.steps.push("rights granted and revoked");

  // 6. A form post without the anti-forgery token is refused (with the session cookie).
  const forged = await alice.page.request.post(url("/account/totp/remove"), { headers: { accept: "text/html" } });
  expect(forged.status() === 403, `a CSRF-less post is refused, got ${forged.status()}`);
  expect((await forged.text()).includes("form_rejected"), "the refusal is an error page with its code");
  const factors = await alice.page.goto(url("/account"));
  expect(factors.ok(), "the account page still works");
  results.steps.push("csrf refused");

  // 7. Hostile uploads: a non-PDF named .pdf; HTML in a file name and a form field.
  await alice.page.goto(url("/"));
  await alice.page.setInputFiles("#file", { name: "invoice.pdf", mimeType: "application/pdf", buffer: Buffer.from("MZ\x90\x00 not a pdf at all") });
  await Promise.all([alice.page.waitForNavigation(), alice.page.click("form[enctype] button[type=submit]")]);
  expect((await alice.page.textContent("#error-code")).trim() === "not_pdf", "a non-PDF gets not_pdf");
  expect((await alice.page.textContent("#support-ref")).trim().length > 0, "the error page has a support reference");
  await shot(alice.page, "08-error");
  // (No double quote: Chromium sends it as %22 in the multipart file name.)
  const evilName = "<img src=x onerror=alert(1)><script>alert(2)</script>.pdf";
  await alice.page.goto(url("/"));
  await alice.page.setInputFiles("#file", { name: evilName, mimeType: "application/pdf", buffer: readFileSync(config.pdf) });
  await alice.page.click("#more-options summary");
  await alice.page.fill("#reason", '"><script>alert(3)</script>');
  await Promise.all([alice.page.waitForNavigation(), alice.page.click("form[enctype] button[type=submit]")]);
  expect((await alice.page.textContent("#doc-name")) === evilName, "the file name is shown as text");
  expect((await alice.page.locator("main img[src=x], main script").count()) === 0, "no markup from the name");
  results.steps.push("hostile uploads");

  // 8. Support: a refused approval (a one-time code for the qualified policy) shows a
  //    support reference, which the operator (alice, High) finds in the audit log; others
  //    may not use the support view.
  await bob.page.goto(review);
  // The approval form keeps the file name for the download, and offers a code only where the
  // chosen credential accepts one.
  expect((await bob.page.getAttribute("#approve", "action")).includes("name="), "the approval keeps the file name");
  const labels = await credentialLabels(bob.page);
  const advanced = labels.find((l) => /Advanced/.test(l));
  await bob.page.selectOption("#credential", { label: advanced });
  expect(await bob.page.isVisible("#otp"), "a code can approve an advanced signature");
  const qualified = labels.find((l) => /Qualified/.test(l));
  await bob.page.selectOption("#credential", { label: qualified });
  expect(!(await bob.page.isVisible("#otp")) && (await bob.page.isVisible("#passkey-only")), "no code field for a qualified signature");
  // A code sent anyway (past the page) is refused by the service.
  await bob.page.evaluate(() => { document.getElementById("otp-group").hidden = false; });
  await bob.page.fill("#otp", "123456");
  await Promise.all([bob.page.waitForNavigation(), bob.page.click("#approve button[type=submit]")]);
  expect((await bob.page.textContent("#error-code")).trim() === "activation_too_weak", "a code cannot approve a qualified signature");
  // The refusal is said on the review page itself, above the form, with the focus moved to it.
  expect(new URL(bob.page.url()).pathname.startsWith("/sign/"), `the error stays on the review page (${bob.page.url()})`);
  expect(await bob.page.isVisible("#approve"), "the approval form is still there");
  expect((await bob.page.evaluate(() => document.activeElement && document.activeElement.id)) === "error-summary", "the focus moved to the error summary");
  expect((await bob.page.locator("#error-summary a[href^='#']").count()) > 0, "the summary links to the field");
  await shot(bob.page, "11-error-in-place");
  const reference = (await bob.page.textContent("#support-ref")).trim();
  const refused = await bob.page.goto(url(`/support?ref=${reference}`));
  expect(refused.status() === 403, `a non-operator cannot use the support view (${refused.status()})`);
  await alice.page.goto(url(`/support?ref=${reference}`));
  const records = await alice.page.textContent("#records");
  expect(/activation_refused/.test(records), `the operator finds the refusal: ${records}`);
  await shot(alice.page, "10-support");
  results.steps.push("support lookup");

  // 9. Lost phone: from a session made with the passkey, alice removes the authenticator app,
  //    logs out, and logs in again with her password and passkey (High).
  await alice.page.goto(url("/account"));
  await Promise.all([alice.page.waitForURL(/done=totp-removed/), alice.page.click("form[action*='totp/remove'] button")]);
  await Promise.all([alice.page.waitForNavigation(), alice.page.click("header form button")]);
  await alice.page.fill("#username", "alice");
  await alice.page.fill("#password", config.password);
  await Promise.all([alice.page.waitForURL(url("/")), alice.page.click("#passkey-login")]);
  await alice.page.waitForSelector("#loa");
  expect((await alice.page.textContent("#loa")).trim() === "High", "password and passkey log in at High");
  await alice.page.goto(url("/history"));
  const own = await alice.page.textContent("#history");
  expect(/factor_removed/.test(own) && /login/.test(own), "the history shows the removal and the logins");
  results.steps.push("lost factor removed");

  // 10. An application's OAuth login (authorization code with PKCE) on qsign's login page,
  //     with the passkey through the page's own script: a code for a High token.
  const pkceVerifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(pkceVerifier).digest("base64url");
  const callback = "http://localhost:9999/callback";
  // The application's callback, answered in the browser (nothing listens on that port).
  await alice.page.route(`${callback}**`, (route) => route.fulfill({ status: 200, contentType: "text/plain", body: "application callback" }));
  await alice.page.goto(
    url(`/idp/authorize?response_type=code&client_id=signer-app&redirect_uri=${encodeURIComponent(callback)}&state=s-42&code_challenge=${challenge}&code_challenge_method=S256`),
  );
  await alice.page.fill("#username", "alice");
  await alice.page.fill("#password", config.password);
  await Promise.all([alice.page.waitForURL((u) => u.toString().startsWith(callback)), alice.page.click("#passkey")]);
  const back = new URL(alice.page.url());
  expect(back.searchParams.get("state") === "s-42", `the state comes back: ${back}`);
  const token = await alice.page.request.post(url("/idp/token"), {
    form: { grant_type: "authorization_code", client_id: "signer-app", code: back.searchParams.get("code"), redirect_uri: callback, code_verifier: pkceVerifier },
  });
  const issued = await token.json();
  expect(token.ok() && /High$/.test(issued.acr), `the code gives a High token: ${JSON.stringify(issued)}`);
  results.steps.push("oauth passkey login");

  // 13. The focus ring: reached with the keyboard, every focusable element of the start page
  //     and the account page draws an outline of at least 2 px whose contrast with the
  //     background behind it is at least 3:1 (WCAG 2.4.11 / 1.4.11).
  for (const path of ["/", "/account"]) {
    await alice.page.goto(url(path));
    const rings = [];
    for (let i = 0; i < 12; i++) {
      await alice.page.keyboard.press("Tab");
      rings.push(
        await alice.page.evaluate(() => {
          const el = document.activeElement;
          if (!el || el === document.body) {
            return null;
          }
          const rgb = (c) => (c.match(/[\d.]+/g) || []).slice(0, 4).map(Number);
          const lum = ([r, g, b]) => {
            const f = (v) => {
              v /= 255;
              return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
            };
            return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
          };
          // The background the ring is drawn on: the nearest ancestor with an opaque one.
          let back = [255, 255, 255];
          for (let n = el.parentElement; n; n = n.parentElement) {
            const c = rgb(getComputedStyle(n).backgroundColor);
            if (c.length >= 3 && (c.length === 3 || c[3] > 0)) {
              back = c.slice(0, 3);
              break;
            }
          }
          const style = getComputedStyle(el);
          const ring = rgb(style.outlineColor).slice(0, 3);
          const [a, b] = [lum(ring), lum(back)].sort((x, y) => y - x);
          return { id: el.id || el.tagName, width: parseFloat(style.outlineWidth), style: style.outlineStyle, ratio: (a + 0.05) / (b + 0.05) };
        }),
      );
    }
    const seen = rings.filter(Boolean);
    expect(seen.length > 3, `${path}: the keyboard reaches the page's controls`);
    for (const r of seen) {
      expect(r.style !== "none" && r.width >= 2 && r.ratio >= 3, `${path}: the focus ring of ${r.id} is visible at 3:1 (${JSON.stringify(r)})`);
    }
    results.focus_rings = (results.focus_rings || 0) + seen.length;
  }
  results.steps.push("focus ring contrast");

  // 12. Phones: every page fits 320 px without scrolling sideways, in both languages.
  for (const path of ["/", "/history", "/account", "/account/totp", `/org/${config.cvr}`, "/org", "/help", "/verify", "/accessibility", `/org/${config.cvr}/cases`, "/approvals"]) {
    for (const lang of ["en", "da"]) {
      await alice.page.goto(url(path));
      const other = alice.page.locator(`a[hreflang=${lang}]`);
      if (await other.count()) {
        await Promise.all([alice.page.waitForNavigation(), other.first().click()]);
      }
      await fitsPhone(alice.page, `${path} (${lang})`);
    }
  }
  await upload(alice, config.pdf, { level: "B-T" });
  await pagesShown(alice.page);
  await fitsPhone(alice.page, "review");
  await verifier.page.goto(url("/verify"));
  await verifier.page.setInputFiles("#file", second);
  await Promise.all([verifier.page.waitForNavigation(), verifier.page.click("form button[type=submit]")]);
  await fitsPhone(verifier.page, "verification report");
  results.steps.push("phone width");

  // 14. Keyboard only, at phone width: bob uploads, approves with a code and downloads with
  //     Space, then reads his history, pressing keys only (choosing the file is the one step a
  //     page cannot take from the keyboard: it opens the system's file dialog).
  await bob.page.setViewportSize({ width: 375, height: 740 });
  await bob.page.goto(url("/"));
  await bob.page.setInputFiles("#file", config.pdf);
  await bob.page.focus("#file");
  await bob.page.keyboard.press("Tab");
  for (let i = 0; i < 8 && !(await bob.page.evaluate(() => document.activeElement && document.activeElement.matches("form[enctype] button[type=submit]"))); i++) {
    await bob.page.keyboard.press("Tab");
  }
  await Promise.all([bob.page.waitForNavigation(), bob.page.keyboard.press("Enter")]);
  expect(new URL(bob.page.url()).pathname.startsWith("/sign/"), `keyboard: the upload leads to the review (${bob.page.url()})`);
  await fitsPhone(bob.page, "keyboard review");
  await bob.page.setViewportSize({ width: 375, height: 740 });
  await bob.page.focus("#credential");
  const advancedValue = await bob.page.$$eval("#credential option", (os) => (os.find((o) => /Advanced/.test(o.textContent)) || {}).value);
  for (let i = 0; i < 6 && (await bob.page.inputValue("#credential")) !== advancedValue; i++) {
    await bob.page.keyboard.press("ArrowDown");
  }
  expect((await bob.page.inputValue("#credential")) === advancedValue, "keyboard: the advanced credential is chosen with the arrow keys");
  await bob.page.keyboard.press("Tab");
  for (let i = 0; i < 6 && (await bob.page.evaluate(() => document.activeElement && document.activeElement.id)) !== "otp"; i++) {
    await bob.page.keyboard.press("Tab");
  }
  expect((await bob.page.evaluate(() => document.activeElement && document.activeElement.id)) === "otp", "keyboard: Tab reaches the code field");
  await bob.page.keyboard.type(await freshTotp(config.bob));
  await Promise.all([bob.page.waitForURL(/\/done/), bob.page.keyboard.press("Enter")]);
  await bob.page.focus("#download");
  const [keyboardDownload] = await Promise.all([bob.page.waitForEvent("download"), bob.page.keyboard.press("Space")]);
  results.keyboard_name = keyboardDownload.suggestedFilename();
  expect(/-signed\.pdf$/.test(results.keyboard_name), `keyboard: Space downloads the signed file (${results.keyboard_name})`);
  await fitsPhone(bob.page, "keyboard done");
  await bob.page.setViewportSize({ width: 375, height: 740 });
  await bob.page.focus("a[href='/history']");
  await Promise.all([bob.page.waitForNavigation(), bob.page.keyboard.press("Enter")]);
  expect(/history/.test(bob.page.url()), "keyboard: the history is reached");
  await fitsPhone(bob.page, "keyboard history");
  // The same from the login, approving with the passkey: log out and in with keys only.
  await bob.page.focus("header form button");
  await Promise.all([bob.page.waitForNavigation(), bob.page.keyboard.press("Enter")]);
  // Password and passkey (the code just used for the approval cannot serve again in its
  // 30-second step: a replayed code is refused).
  await bob.page.focus("#username");
  await bob.page.keyboard.type("bob");
  await bob.page.keyboard.press("Tab");
  await bob.page.keyboard.type(config.password);
  await bob.page.focus("#passkey-login");
  await Promise.all([bob.page.waitForURL(url("/")), bob.page.keyboard.press("Enter")]);
  await bob.page.waitForSelector("#loa");
  expect((await bob.page.textContent("#loa")).trim() === "High", "keyboard: logged in with password and passkey");
  await bob.page.setInputFiles("#file", config.pdf);
  await bob.page.focus("form[enctype] button[type=submit]");
  await Promise.all([bob.page.waitForNavigation(), bob.page.keyboard.press("Enter")]);
  await bob.page.focus("#credential");
  for (let i = 0; i < 6 && (await bob.page.inputValue("#credential")) !== advancedValue; i++) {
    await bob.page.keyboard.press("ArrowDown");
  }
  await bob.page.focus("#approve-passkey");
  await Promise.all([bob.page.waitForURL(/\/done/), bob.page.keyboard.press("Enter")]);
  await bob.page.focus("#download");
  const [passkeyDownload] = await Promise.all([bob.page.waitForEvent("download"), bob.page.keyboard.press("Enter")]);
  expect(/-signed\.pdf$/.test(passkeyDownload.suggestedFilename()), `keyboard: Enter downloads too (${passkeyDownload.suggestedFilename()})`);
  await fitsPhone(bob.page, "keyboard passkey done");
  await bob.page.setViewportSize({ width: 1100, height: 900 });
  results.steps.push("keyboard only at 375 px");

  // 15. Time limits (WCAG 2.2.1): two minutes before the session ends a dialog says so and
  //     offers to stay; staying renews the session and says so; the clock is the browser's,
  //     moved forward.
  const clocked = await bob.context.newPage();
  await clocked.clock.install();
  await clocked.goto(url("/history"));
  const [expiresAt, serverNow] = await clocked.evaluate(() => [Number(document.body.dataset.sessionExpires), Number(document.body.dataset.sessionNow)]);
  expect(expiresAt > serverNow, `the page knows when the session ends (${expiresAt}, ${serverNow})`);
  expect(!(await clocked.isVisible("#session-warning")), "no warning while there is time");
  await clocked.clock.fastForward((expiresAt - serverNow - 100) * 1000);
  await clocked.waitForSelector("#session-warning", { state: "visible", timeout: 5000 });
  expect((await clocked.evaluate(() => document.activeElement && document.activeElement.id)) === "session-continue", "the warning takes the focus to its button");
  await shot(clocked, "12-session-warning");
  await clocked.keyboard.press("Enter");
  await clocked.waitForFunction(() => document.getElementById("session-status").textContent.length > 0, null, { timeout: 5000 });
  expect(!(await clocked.isVisible("#session-warning")), "staying closes the warning");
  await clocked.close();
  results.steps.push("session warning");

  // 11. Help explains every code.
  await alice.page.goto(url("/help"));
  results.help_codes = await alice.page.locator("#codes dt").count();
  await shot(alice.page, "09-help");

  for (const who of [alice, bob, verifier]) {
    expect(who.problems.length === 0, `${who.name}: ${who.problems.join("; ")}`);
  }
  expect(
    results.axe.violations.length === 0,
    `axe-core found WCAG A/AA violations: ${JSON.stringify(results.axe.violations, null, 1)}`,
  );
  results.ok = true;
} catch (e) {
  results.ok = false;
  results.error = String(e.stack || e);
  // Where each browser was, for the report.
  results.pages = {};
  for (const who of people) {
    const text = await who.page.textContent("body").catch(() => "");
    results.pages[who.name] = { url: who.page.url(), text: (text || "").replace(/\s+/g, " ").slice(0, 600), problems: who.problems };
    await shot(who.page, `failure-${who.name}`).catch(() => {});
  }
} finally {
  writeFileSync(join(config.out, "results.json"), JSON.stringify(results, null, 2));
  await browser.close();
}
process.exit(results.ok ? 0 : 1);
