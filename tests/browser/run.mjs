// Browser accessibility suite for mhtr-pathway.
//
// Signs in as each demo role in headless Chromium, loads every page that role can reach,
// and for each page: runs axe-core (WCAG 2.2 A/AA), takes a full-page screenshot, and
// checks there are no console errors (CSP violations included), no failed /assets/
// requests, that application.mjs ran and that the session-timeout dialog is not showing.
// Also visits every referral page each role can reach (following links from the case
// lists), and has two keyboard-only journeys: the administrator adds a user, and the
// probation officer makes a referral.
//
// Needs a running server with demo data (see tests/browser/README.md):
//   BASE_URL=http://localhost:8090 npm run test:browser

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { readFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { chromium } from 'playwright-core'

const require = createRequire(import.meta.url)
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
// Always "localhost": the __Host- Secure session cookie is only accepted on http://localhost.
const BASE_URL = (process.env.BASE_URL || 'http://localhost:8090').replace(/\/$/, '')
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
const SCREENSHOTS = path.join(ROOT, 'test-results', 'screenshots')
const REPORT = path.join(ROOT, 'test-results', 'browser-report.json')
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']
// Rules switched off. `region` is axe best practice, not WCAG, and is not selected by the
// tags above anyway; nothing else is excluded.
const AXE_DISABLED_RULES = { region: { enabled: false } }

// Published demo credentials, copied from src/demo.rs (ACCOUNTS).
const ACCOUNTS = [
  { role: 'probation-officer', name: 'Priya Shah', email: 'priya.shah@probation.demo.example', password: 'amber tractor quilt seventy', key: 'QRHNNK7LIHHC5NXD2SNMP6FK2TYD5P62' },
  { role: 'assistant-psychologist', name: 'Tom Walker', email: 'tom.walker@turningpoint.demo.example', password: 'velvet harbour cactus ninety', key: 'YDZVZUAJCYYUIZZ5UFZIPU65VQYV4G7J' },
  { role: 'clinical-lead', name: 'Dr Helen Carter', email: 'helen.carter@turningpoint.demo.example', password: 'copper meadow falcon eighty', key: 'M42BBUB7P7UKZYZR2HQGRNJB2LE2QBMI' },
  { role: 'councillor', name: 'Cllr Jo Bennett', email: 'jo.bennett@rutland.demo.example', password: 'silent orchard pepper forty', key: 'FOCWUUS5DAYE5MYRQUBNFWVBIZB2MWA3' },
  { role: 'admin', name: 'Sam Okafor', email: 'sam.okafor@admin.demo.example', password: 'lantern gravel mosaic sixty', key: 'GMXJPAAE5UJ4XUVMOYEYUZPJQBTT2VKQ' },
  { role: 'liaison-diversion', name: 'Amira Hussain', email: 'amira.hussain@nhs-ld.demo.example', password: 'harvest pebble lagoon fifty', key: 'FK6EO4OR6AWETR4SULXQC5C4YO5II74G' }
]
const ADMIN = ACCOUNTS.find((a) => a.role === 'admin')

// ------------------------------------------------------------------ TOTP (RFC 6238)

function base32Decode (text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = 0
  let value = 0
  const out = []
  for (const ch of text.replace(/=+$/, '').toUpperCase()) {
    const index = alphabet.indexOf(ch)
    if (index < 0) throw new Error(`not base32: ${ch}`)
    value = (value << 5) | index
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return Buffer.from(out)
}

const STEP_SECONDS = 30
const currentStep = () => Math.floor(Date.now() / 1000 / STEP_SECONDS)

function totp (keyBase32, step = currentStep()) {
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(step))
  const hmac = createHmac('sha1', base32Decode(keyBase32)).update(counter).digest()
  const offset = hmac[hmac.length - 1] & 0x0f
  const binary = (hmac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000
  return String(binary).padStart(6, '0')
}

// A code works once per step per user: remember the last step used for each account and
// wait for a fresh one before signing the same account in again.
const lastStepUsed = new Map()

async function freshCode (account) {
  const last = lastStepUsed.get(account.email) ?? -1
  while (currentStep() <= last) {
    const msToNextStep = STEP_SECONDS * 1000 - (Date.now() % (STEP_SECONDS * 1000)) + 200
    await sleep(msToNextStep)
  }
  const step = currentStep()
  lastStepUsed.set(account.email, step)
  return totp(account.key, step)
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// ------------------------------------------------------------------ browser plumbing

let browser
const report = { baseUrl: BASE_URL, axeTags: AXE_TAGS, pages: [] }

before(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true })
  try {
    const res = await fetch(`${BASE_URL}/healthz`)
    assert.ok(res.ok, `GET ${BASE_URL}/healthz answered ${res.status}`)
  } catch (e) {
    throw new Error(`No server at ${BASE_URL}: start it with demo data first (see tests/browser/README.md). ${e.message}`)
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
})

after(async () => {
  await browser?.close()
  mkdirSync(path.dirname(REPORT), { recursive: true })
  writeFileSync(REPORT, JSON.stringify(report, null, 2))
})

async function newContext () {
  const context = await browser.newContext({ baseURL: BASE_URL, viewport: { width: 1280, height: 900 }, locale: 'en-GB' })
  context.setDefaultTimeout(15_000)
  return context
}

/** Runs a subtest and tells whether it passed, so later steps can be skipped. */
async function step (t, name, fn) {
  let passed = false
  await t.test(name, async () => { await fn(); passed = true })
  return passed
}

function stopUnless (passed, what) {
  if (!passed) throw new Error(`${what} failed, so the remaining steps were not run`)
}

/** Opening a referral off one's own caseload first asks why (a clinical lead's area is wider
 * than their caseload): answer it, then go where we were going. The question page itself is
 * checked by `visit` in clinicalLeadReferrals. */
const REASON_PATH = /^\/referrals\/[^/]+\/reason$/
function answerAccessReasons (page) {
  const goto = page.goto.bind(page)
  page.goto = async (url, options) => {
    const res = await goto(url, options)
    const asked = REASON_PATH.test(new URL(page.url()).pathname)
    if (!asked || REASON_PATH.test(new URL(url, BASE_URL).pathname)) return res
    await page.getByLabel('Reason').fill('Checking every page of the service')
    await Promise.all([
      page.waitForURL((u) => !REASON_PATH.test(u.pathname), { waitUntil: 'load' }),
      page.getByRole('button', { name: 'Continue', exact: true }).click()
    ])
    return goto(url, options)
  }
}

/** A page that records console errors, uncaught exceptions and failed asset requests. */
async function newPage (context) {
  const page = await context.newPage()
  answerAccessReasons(page)
  const log = { console: [], assets: [], documents: new Map() }
  page.on('console', (msg) => {
    if (msg.type() === 'error') log.console.push({ text: msg.text(), url: msg.location()?.url ?? '' })
  })
  page.on('pageerror', (err) => log.console.push({ text: `Uncaught ${err.name}: ${err.message}`, url: '' }))
  page.on('requestfailed', (req) => {
    // ERR_ABORTED: the page was left before the request finished (often the icon, which
    // loads after the load event). A missing asset shows as a 4xx response below instead.
    if (req.failure()?.errorText === 'net::ERR_ABORTED') return
    if (new URL(req.url()).pathname.startsWith('/assets/')) {
      log.assets.push(`${req.method()} ${req.url()} failed: ${req.failure()?.errorText}`)
    }
  })
  page.on('response', (res) => {
    const url = new URL(res.url())
    if (url.pathname.startsWith('/assets/') && res.status() >= 400) {
      log.assets.push(`${res.request().method()} ${res.url()} answered ${res.status()}`)
    }
    if (res.request().resourceType() === 'document') log.documents.set(res.url(), res.status())
  })
  page.log = log
  return page
}

function resetLog (page) {
  page.log.console.length = 0
  page.log.assets.length = 0
  page.log.documents.clear()
}

async function runAxe (page) {
  // The CSP forbids inline scripts, so axe goes in through the DevTools protocol
  // (page.evaluate), which the page's CSP does not apply to.
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(AXE_SOURCE)
  return page.evaluate(async ({ tags, rules }) => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: tags }, rules })
    const simplify = (list) => list.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), html: n.html.slice(0, 300), summary: n.failureSummary }))
    }))
    return { violations: simplify(r.violations), incomplete: simplify(r.incomplete) }
  }, { tags: AXE_TAGS, rules: AXE_DISABLED_RULES })
}

/**
 * Checks the page now showing. `expectStatus` is the HTTP status of the document (error
 * pages are expected to be 403/404: Chromium logs those as "Failed to load resource",
 * which is not an application error).
 */
async function checkPage (page, shot, { expectStatus = 200 } = {}) {
  await page.waitForLoadState('load')
  const problems = []
  const url = page.url()
  const status = page.log.documents.get(url)
  if (status !== undefined && status !== expectStatus) problems.push(`HTTP status ${status}, expected ${expectStatus}`)

  const state = await page.evaluate(() => {
    const dialog = document.querySelector('.app-timeout-dialog')
    const visible = (el) => !!el && el.checkVisibility?.({ checkOpacity: true, checkVisibilityCSS: true })
    return {
      title: document.title,
      h1: document.querySelector('h1')?.textContent.trim().replace(/\s+/g, ' ') ?? null,
      frontendSupported: document.body.classList.contains('govuk-frontend-supported'),
      hasTimeoutMeta: !!document.querySelector('meta[name="app-session-timeout"]'),
      dialogPresent: !!dialog,
      dialogOpen: !!dialog?.open,
      dialogVisible: visible(dialog)
    }
  })
  if (!state.h1) problems.push('page has no <h1>')
  if (!state.frontendSupported) problems.push('application.mjs did not run (<body> lacks govuk-frontend-supported)')
  if (state.hasTimeoutMeta && !state.dialogPresent) problems.push('session-timeout dialog was not set up although the page has app-session-timeout')
  if (state.dialogOpen || state.dialogVisible) problems.push('session-timeout dialog is visible on load')

  const axe = await runAxe(page)
  for (const v of axe.violations) {
    for (const n of v.nodes) problems.push(`axe ${v.id} (${v.impact}): ${v.help} — ${n.target}\n      ${n.html}`)
  }

  const file = path.join(SCREENSHOTS, `${shot}.png`)
  await page.screenshot({ path: file, fullPage: true })

  const reflow = await checkReflow(page)
  if (reflow) problems.push(`scrolls sideways at 320 px wide (WCAG 1.4.10 Reflow): the page is ${reflow.width} px wide; widest parts: ${reflow.offenders.join('; ')}`)

  // Give late console messages (e.g. CSP reports) a moment, then read the log.
  await page.waitForTimeout(100)
  const consoleErrors = page.log.console.filter((c) => !(
    expectStatus >= 400 && c.url === url && /Failed to load resource: the server responded with a status of 4\d\d/.test(c.text)
  ))
  for (const c of consoleErrors) problems.push(`console error: ${c.text}${c.url ? ` (${c.url})` : ''}`)
  for (const a of page.log.assets) problems.push(`asset request: ${a}`)

  report.pages.push({
    shot,
    url,
    status,
    title: state.title,
    h1: state.h1,
    timeoutDialog: state.dialogPresent ? (state.dialogOpen ? 'open' : 'closed') : 'absent',
    screenshot: path.relative(ROOT, file),
    violations: axe.violations,
    incomplete: axe.incomplete.map((i) => ({ id: i.id, help: i.help, targets: i.nodes.map((n) => n.target) })),
    consoleErrors,
    assetProblems: [...page.log.assets]
  })
  resetLog(page)
  if (problems.length > 0) assert.fail(`${shot} (${url}, "${state.title}") has ${problems.length} problem(s):\n  - ${problems.join('\n  - ')}\n`)
  return state
}

/**
 * WCAG 2.2 SC 1.4.10 Reflow: at 320 CSS px wide the page must not scroll sideways. Wide
 * tables may scroll inside their own region (`.app-table-wrap`), which does not widen the
 * page. Returns null when the page fits, or its width and the widest elements that stick
 * out (outside any scroll region).
 */
async function checkReflow (page) {
  const viewport = page.viewportSize()
  await page.setViewportSize({ width: 320, height: 900 })
  try {
    return await page.evaluate(() => {
      const doc = document.documentElement
      if (doc.scrollWidth <= doc.clientWidth) return null
      const scrolls = (el) => {
        for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
          if (/(auto|scroll|hidden|clip)/.test(getComputedStyle(a).overflowX)) return true
        }
        return false
      }
      const offenders = [...document.body.querySelectorAll('*')]
        .filter((el) => el.getBoundingClientRect().right > doc.clientWidth + 1 && !scrolls(el))
        .map((el) => ({ el, right: Math.round(el.getBoundingClientRect().right) }))
        .sort((a, b) => b.right - a.right)
        .slice(0, 4)
        .map(({ el, right }) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : ''} to ${right} px`)
      return { width: doc.scrollWidth, offenders }
    })
  } finally {
    await page.setViewportSize(viewport)
  }
}

async function visit (t, page, shot, urlPath, options) {
  await t.test(`${shot}: GET ${urlPath}`, async () => {
    resetLog(page)
    await page.goto(urlPath, { waitUntil: 'load' })
    await checkPage(page, shot, options)
  })
}

/** Submits the form containing `buttonName` with every field empty, then checks the result. */
async function submitEmpty (t, page, shot, urlPath, buttonName) {
  await t.test(`${shot}: ${urlPath} submitted empty`, async () => {
    resetLog(page)
    await page.goto(urlPath, { waitUntil: 'load' })
    // Empty every field the service filled in for the user (today's date, a known answer).
    const button = page.getByRole('button', { name: buttonName, exact: true })
    await button.evaluate((b) => {
      for (const el of b.form?.elements ?? []) {
        if (el.type === 'hidden' || el.type === 'submit') continue
        if (el.type === 'radio' || el.type === 'checkbox') el.checked = false
        else if ('value' in el) el.value = ''
      }
    })
    await Promise.all([
      page.waitForURL((u) => u.pathname === urlPath.split('?')[0], { waitUntil: 'load' }),
      button.click()
    ])
    await checkPage(page, shot)
    const summary = page.locator('.govuk-error-summary')
    assert.equal(await summary.count(), 1, 'error summary shown')
    assert.ok(await page.locator('.govuk-error-summary__list li').count() > 0, 'error summary lists errors')
    assert.match(await page.title(), /^Error: /, 'page title starts "Error: "')
  })
  await t.test(`${shot}: each error summary link moves focus to its field`, async () => {
    const links = await page.locator('.govuk-error-summary__list a').evaluateAll((as) =>
      as.map((a) => ({ text: a.textContent.trim(), href: a.getAttribute('href') })))
    const wrong = []
    for (const link of links.filter((l) => l.href?.startsWith('#'))) {
      await page.locator(`.govuk-error-summary__list a[href="${link.href}"]`).first().click()
      const focused = await page.evaluate(() => {
        const el = document.activeElement
        return el ? `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}` : 'nothing'
      })
      if (!/^(input|select|textarea)#/.test(focused)) {
        const target = await page.evaluate((id) => document.getElementById(id)?.outerHTML.slice(0, 80) ?? 'no such element', link.href.slice(1))
        wrong.push(`"${link.text}" (${link.href}) left focus on ${focused}; the link's target is ${target}`)
      }
    }
    assert.equal(wrong.length, 0, `error summary links that do not reach a field (WCAG 3.3.1, 2.4.3):\n  - ${wrong.join('\n  - ')}`)
  })
}

/** Fails clearly when the password step did not lead to the code page (e.g. throttled). */
async function assertOnCodePage (page, account) {
  if (new URL(page.url()).pathname === '/sign-in/code') return
  const message = await page.locator('.govuk-error-summary').textContent().catch(() => null)
  assert.fail(`password step for ${account.email} did not reach /sign-in/code (now at ${page.url()}): ` +
    `${message ? message.trim().replace(/\s+/g, ' ') : 'no error shown'}` +
    (/too many times/.test(message ?? '') ? ' — the server throttles this account; see tests/browser/README.md' : ''))
}

async function signInWithPassword (page, account) {
  await page.goto('/sign-in', { waitUntil: 'load' })
  await page.getByLabel('Email address').fill(account.email)
  await page.locator('#password').fill(account.password)
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.getByRole('button', { name: 'Continue' }).click()
  ])
  await assertOnCodePage(page, account)
}

/** Enters the current code on /sign-in/code, retrying once with the next step's code. */
async function enterCode (page, account) {
  for (let attempt = 1; ; attempt++) {
    await page.locator('#code').fill(await freshCode(account))
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.getByRole('button', { name: 'Sign in', exact: true }).click()
    ])
    if (new URL(page.url()).pathname === '/') return
    // The step may already have been used by an earlier run against the same server.
    assert.ok(attempt < 2, `sign-in as ${account.email} failed twice; page says: ${await page.locator('.govuk-error-summary').textContent().catch(() => '?')}`)
  }
}

async function signOutWithButton (page) {
  await Promise.all([
    page.waitForURL('**/signed-out', { waitUntil: 'load' }),
    page.getByRole('button', { name: 'Sign out' }).click()
  ])
}

// ------------------------------------------------------------------ public pages

test('public pages', async (t) => {
  const context = await newContext()
  const page = await newPage(context)
  try {
    await visit(t, page, 'public-sign-in', '/sign-in')
    await submitEmpty(t, page, 'public-sign-in-errors', '/sign-in', 'Continue')
    await visit(t, page, 'public-accessibility', '/accessibility')
    await visit(t, page, 'public-privacy', '/privacy')
    await visit(t, page, 'public-signed-out', '/signed-out')
    await visit(t, page, 'public-signed-out-timeout', '/signed-out?reason=timeout')
    await visit(t, page, 'public-not-found', '/no-such-page', { expectStatus: 404 })
    // The pages half-way through signing in (/sign-in/code and /sign-in/recovery-code) are
    // checked during the probation officer's sign-in below: every password step counts
    // towards the server's sign-in throttle, so the suite makes only the ones it needs.
  } finally {
    await context.close()
  }
})

// ------------------------------------------------------------------ keyboard only

/** Presses Tab (or Shift+Tab) until the focused element matches `selector`. */
async function tabTo (page, selector, { backwards = false, max = 80 } = {}) {
  const visited = []
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(backwards ? 'Shift+Tab' : 'Tab')
    const focus = await page.evaluate((sel) => {
      const el = document.activeElement
      // GOV.UK radios and checkboxes hide the input itself and draw the focus ring on the
      // label's ::before box, so look there for them.
      const custom = !!el && el.matches('.govuk-radios__input, .govuk-checkboxes__input')
      const cs = !el ? null : custom && el.labels?.[0] ? getComputedStyle(el.labels[0], '::before') : getComputedStyle(el)
      const indicator = !!cs && (
        (!custom && cs.outlineStyle !== 'none' && !/rgba\(0, 0, 0, 0\)|transparent/.test(cs.outlineColor) && parseFloat(cs.outlineWidth) > 0) ||
        cs.boxShadow !== 'none' ||
        cs.backgroundColor === 'rgb(255, 221, 0)'
      )
      return {
        matches: !!el && el.matches(sel),
        describe: el ? `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} "${(el.textContent || el.getAttribute('name') || '').trim().replace(/\s+/g, ' ').slice(0, 40)}"` : 'nothing',
        indicator,
        isBody: el === document.body
      }
    }, selector)
    if (!focus.isBody) {
      visited.push(focus.describe)
      assert.ok(focus.indicator, `no visible focus indicator on ${focus.describe} (WCAG 2.4.7)`)
    }
    if (focus.matches) return visited
  }
  assert.fail(`"${selector}" not reached with ${max} presses of ${backwards ? 'Shift+Tab' : 'Tab'}; focus went: ${visited.join(' → ')}`)
}

async function pressEnterAndWait (page, urlGlob) {
  await Promise.all([
    page.waitForURL(urlGlob, { waitUntil: 'load' }),
    page.keyboard.press('Enter')
  ])
}

test('keyboard only: administrator adds a user with an empty form, then signs out', async (t) => {
  const context = await newContext()
  const page = await newPage(context)
  try {
    await page.goto('/sign-in', { waitUntil: 'load' })

    stopUnless(await step(t, 'sign in with Tab, typing and Enter', async () => {
      await tabTo(page, '#email')
      await page.keyboard.type(ADMIN.email)
      await tabTo(page, '#password')
      await page.keyboard.type(ADMIN.password)
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('Enter')])
      await assertOnCodePage(page, ADMIN)
      for (let attempt = 1; ; attempt++) {
        await tabTo(page, '#code')
        await page.keyboard.type(await freshCode(ADMIN))
        await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('Enter')])
        if (new URL(page.url()).pathname === '/') break
        // The step may already have been used by an earlier run against the same server:
        // the code page comes back with an error, so try the next step's code.
        assert.ok(attempt < 2, `keyboard sign-in failed twice; page says: ${await page.locator('.govuk-error-summary').textContent().catch(() => '?')}`)
      }
      assert.equal(await page.locator('h1').first().isVisible(), true)
    }), 'keyboard sign-in')

    stopUnless(await step(t, 'open Users from the service navigation', async () => {
      await tabTo(page, '.govuk-service-navigation__link[href="/admin/users"]')
      await pressEnterAndWait(page, '**/admin/users')
      assert.equal((await page.locator('h1').textContent()).trim(), 'Users')
    }), 'opening Users')

    stopUnless(await step(t, 'open "Add a user"', async () => {
      await tabTo(page, 'a[href="/admin/users/new"]')
      await pressEnterAndWait(page, '**/admin/users/new')
      assert.equal((await page.locator('h1').textContent()).trim(), 'Add a user')
    }), 'opening "Add a user"')

    await t.test('submit the empty form: the error summary takes focus and lists errors', async () => {
      const visited = await tabTo(page, 'form[action="/admin/users/new"] button[type="submit"]', { max: 120 })
      assert.ok(visited.length > 2, 'tabbed through the form fields')
      resetLog(page)
      await pressEnterAndWait(page, '**/admin/users/new')
      await page.waitForFunction(() => document.activeElement?.classList.contains('govuk-error-summary'), null, { timeout: 5000 })
        .catch(() => {})
      const focused = await page.evaluate(() => document.activeElement?.className ?? '')
      assert.match(focused, /govuk-error-summary/, `error summary should have focus, but focus is on "${focused}"`)
      const errors = await page.locator('.govuk-error-summary__list a').evaluateAll((links) =>
        links.map((a) => ({ text: a.textContent.trim(), href: a.getAttribute('href'), target: !!document.querySelector(a.getAttribute('href')) })))
      assert.ok(errors.length > 0, 'error summary lists errors')
      for (const e of errors) assert.ok(e.target, `error link "${e.text}" points at ${e.href}, which is not on the page`)
      assert.match(await page.title(), /^Error: /)
      // The first error link moves focus to its field.
      await tabTo(page, '.govuk-error-summary__list a', { max: 3 })
      await page.keyboard.press('Enter')
      const field = errors[0].href.slice(1)
      await page.waitForFunction((id) => document.activeElement?.id === id, field, { timeout: 3000 })
      await checkPage(page, 'keyboard-admin-users-new-errors')
    })

    await t.test('sign out with the keyboard', async () => {
      await tabTo(page, 'form[action="/sign-out"] button', { backwards: true, max: 40 })
      await pressEnterAndWait(page, '**/signed-out')
      assert.equal((await page.locator('h1').textContent()).trim(), 'You have signed out')
      const again = await page.goto('/admin/users', { waitUntil: 'load' })
      assert.equal(new URL(page.url()).pathname, '/sign-in', `after sign-out /admin/users went to ${page.url()} (${again?.status()})`)
    })
  } finally {
    await context.close()
  }
})

// ------------------------------------------------------------------ referrals

// The referral the probation officer makes in this run (its reference), so the clinical
// lead can screen that one rather than a demo referral.
let madeReference = null

/** Clicks `locator` (a link or a submit button) and waits for the next page to load. */
async function clickAndWait (page, locator) {
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    locator.click()
  ])
}

/** The hrefs of the links matching `selector` on the page now showing, without repeats. */
async function hrefs (page, selector) {
  const all = await page.locator(selector).evaluateAll((links) => links.map((a) => a.getAttribute('href')))
  return [...new Set(all.filter(Boolean))]
}

const slug = (text) => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')
const lastSegment = (href) => href.split('?')[0].split('/').filter(Boolean).pop()

/** Checks the page now showing (already loaded) as one subtest. */
async function checkCurrent (t, page, shot, what, options) {
  await t.test(`${shot}: ${what}`, async () => { await checkPage(page, shot, options) })
}

/** The case list and each of its tabs. Returns the tab links. */
async function visitCaseList (t, page, r) {
  await visit(t, page, `${r}-referrals`, '/referrals')
  let tabs = []
  await t.test(`${r}-referrals: has the case list tabs`, async () => {
    await page.goto('/referrals', { waitUntil: 'load' })
    tabs = await page.locator('.moj-sub-navigation__link').evaluateAll((links) =>
      links.map((a) => ({ href: a.getAttribute('href'), text: a.textContent.trim() })))
    assert.ok(tabs.length > 1, 'case list has tabs')
  })
  for (const tab of tabs) await visit(t, page, `${r}-referrals-tab-${slug(tab.text)}`, tab.href)
  return tabs
}

/**
 * Searches the case list for the reference of the first referral it shows under any tab,
 * then checks the result page.
 */
async function visitSearchResult (t, page, r, tabs) {
  await t.test(`${r}-referrals-search: search by a reference from the list`, async () => {
    let reference = null
    for (const tab of tabs) {
      await page.goto(tab.href, { waitUntil: 'load' })
      reference = await page.locator('table.govuk-table tbody tr td:nth-child(2)').first().textContent({ timeout: 1000 }).catch(() => null)
      if (reference) break
    }
    assert.ok(reference, 'some tab lists a referral')
    resetLog(page)
    await page.getByLabel('Search by reference, name, CRN or PNC ID').fill(reference.trim())
    await page.getByLabel('Status').selectOption('')
    await clickAndWait(page, page.getByRole('button', { name: 'Apply filters' }))
    assert.match(page.url(), /[?&]q=/, 'the search is in the address')
    await checkPage(page, `${r}-referrals-search`)
    assert.ok(await page.locator('table.govuk-table tbody tr').count() >= 1, 'the search finds the referral')
  })
}

/** The first referral link under the tabs that list one; null when none does. */
async function firstReferralUnder (page, tabs) {
  for (const tab of tabs) {
    await page.goto(tab.href, { waitUntil: 'load' })
    const [href] = await hrefs(page, 'table.govuk-table tbody a[href^="/referrals/"]')
    if (href) return href
  }
  return null
}

/** The action links offered on the referral page now showing: [{ href, text }]. */
const actionLinks = (page) => page.locator('main a[href*="/actions/"]').evaluateAll((links) =>
  links.map((a) => ({ href: a.getAttribute('href'), text: a.textContent.trim().replace(/\s+/g, ' ') })))

// Actions whose form cannot be sent empty (a date, a reason or a choice is required: see
// action_date, action_text and parse_transition in src/referrals/forms.rs), so submitting
// them empty shows the error summary without changing the referral.
const REFUSED_EMPTY = new Set(['decline', 'record_not_suitable', 'book_assessment', 'record_assessment',
  'record_consent', 'send_report', 'await_sentence', 'record_adjourned', 'record_induction',
  'start_treatment', 'end_treatment', 'record_mhtr_made', 'withdraw', 'hand_over', 'vary_order', 'end_order',
  'give_share_consent', 'withdraw_share_consent'])

/**
 * Visits the referral page at `href` and each action page it offers that has not been
 * seen yet (`seen` holds action names). Returns the action links.
 */
async function visitReferralAndActions (t, page, shot, href, seen = new Set()) {
  await visit(t, page, shot, href)
  let actions = []
  await t.test(`${shot}: read the actions offered`, async () => {
    await page.goto(href, { waitUntil: 'load' })
    actions = await actionLinks(page)
  })
  for (const a of actions) {
    const name = lastSegment(a.href)
    if (seen.has(name)) continue
    seen.add(name)
    await visit(t, page, `${shot}-action-${slug(name)}`, a.href)
    if (REFUSED_EMPTY.has(name)) await submitEmpty(t, page, `${shot}-action-${slug(name)}-errors`, a.href, a.text)
  }
  return actions
}

// The keyboard-only helpers: every field is reached with Tab, answered by typing, Space
// or the arrow keys (the keyboard way to move within a radio group or a closed <select>),
// and pages are submitted with Enter.

async function typeInto (page, id, text) {
  await tabTo(page, `#${id}`)
  await page.keyboard.type(text)
  assert.equal(await page.locator(`#${id}`).inputValue(), text, `typed into #${id}`)
}

async function chooseRadio (page, name, value) {
  await tabTo(page, `input[type="radio"][name="${name}"]`)
  for (let i = 0; i < 20; i++) {
    const focus = await page.evaluate(() => ({ value: document.activeElement.value, checked: document.activeElement.checked }))
    if (focus.value === value) {
      if (!focus.checked) await page.keyboard.press('Space')
      break
    }
    await page.keyboard.press('ArrowDown')
  }
  assert.equal(await page.locator(`input[name="${name}"]:checked`).getAttribute('value'), value, `radio ${name}=${value} chosen`)
}

async function tickCheckbox (page, name, value) {
  await tabTo(page, `input[type="checkbox"][name="${name}"][value="${value}"]`)
  await page.keyboard.press('Space')
  assert.ok(await page.locator(`input[name="${name}"][value="${value}"]`).isChecked(), `checkbox ${name}=${value} ticked`)
}

async function chooseOption (page, id, text) {
  await tabTo(page, `#${id}`)
  const selected = () => page.locator(`#${id}`).evaluate((s) => s.selectedOptions[0]?.textContent.trim())
  for (let i = 0; i < 60 && (await selected()) !== text; i++) await page.keyboard.press('ArrowDown')
  assert.equal(await selected(), text, `option "${text}" chosen in #${id}`)
}

/** Tabs to the page's submit button (the one named `name`) and presses Enter. */
async function submitWithEnter (page, name) {
  for (let i = 0; i < 5; i++) {
    await tabTo(page, 'main button[type="submit"]', { max: 150 })
    const text = await page.evaluate(() => document.activeElement.textContent.trim().replace(/\s+/g, ' '))
    if (text === name) {
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('Enter')])
      return
    }
  }
  assert.fail(`no "${name}" button reached with Tab`)
}

/** Fails with the page's error summary when the page shows one. */
async function assertNoErrors (page, where) {
  const summary = await page.locator('.govuk-error-summary').textContent({ timeout: 500 }).catch(() => null)
  assert.equal(summary, null, `${where}: the page shows errors: ${summary?.trim().replace(/\s+/g, ' ')}`)
}

async function probationOfficerReferrals (t, page, r) {
  const tabs = await visitCaseList(t, page, r)
  await visitSearchResult(t, page, r, tabs)
  // A filter the form cannot send (an address edited by hand): refused with an error summary.
  await t.test(`${r}-referrals-filter-errors: GET /referrals?status=no-such-status`, async () => {
    resetLog(page)
    await page.goto('/referrals?status=no-such-status', { waitUntil: 'load' })
    await checkPage(page, `${r}-referrals-filter-errors`)
    assert.equal(await page.locator('.govuk-error-summary').count(), 1, 'error summary shown')
    assert.match(await page.title(), /^Error: /, 'page title starts "Error: "')
  })
  await visit(t, page, `${r}-referral-new`, '/referrals/new')

  // A draft for the question pages, each shown once as it first appears and once
  // submitted empty. Its entry point is set to probation after the first page, so the
  // details page asks (and rejects) the probation questions.
  let draft = null
  stopUnless(await step(t, `${r}-referral-step-entry-point: start a new referral`, async () => {
    draft = await startNewReferral(page, `${r}-referral-step-entry-point`)
  }), 'starting a referral')
  await submitEmpty(t, page, `${r}-referral-step-entry-point-errors`, `${draft}/entry-point`, 'Save and continue')
  stopUnless(await step(t, 'answer the entry point (probation) and continue', async () => {
    await page.goto(`${draft}/entry-point`, { waitUntil: 'load' })
    await page.getByLabel('Probation (pre-sentence report)').check()
    await clickAndWait(page, page.getByRole('button', { name: 'Save and continue' }))
    assert.equal(new URL(page.url()).pathname, `${draft}/person`)
  }), 'answering the entry point')
  for (const s of ['person', 'details', 'needs-and-risk']) {
    await visit(t, page, `${r}-referral-step-${s}`, `${draft}/${s}`)
    await submitEmpty(t, page, `${r}-referral-step-${s}-errors`, `${draft}/${s}`, 'Save and continue')
  }
  await visit(t, page, `${r}-referral-check-incomplete`, `${draft}/check`)
  await submitEmpty(t, page, `${r}-referral-check-errors`, `${draft}/check`, 'Make referral')
  // The start page now lists drafts.
  await visit(t, page, `${r}-referral-new-with-drafts`, '/referrals/new')

  // A referral page under each tab, and the action pages offered there (recording the
  // sentencing hearing and the order are the probation officer's).
  await visitReferralsUnderTabs(t, page, r, tabs, new Set())

  await probationOfficerMakesAReferral(t, page, r)
}

/** From the start page to a new draft's first question, checked; the draft's path. */
async function startNewReferral (page, shot) {
  await page.goto('/referrals/new', { waitUntil: 'load' })
  resetLog(page)
  await clickAndWait(page, page.getByRole('button', { name: 'Start a new referral' }))
  const m = new URL(page.url()).pathname.match(/^(\/referrals\/drafts\/[^/]+)\/entry-point$/)
  assert.ok(m, `"Start a new referral" led to ${page.url()}`)
  await checkPage(page, shot)
  return m[1]
}

/**
 * A Liaison and Diversion practitioner: their own referrals under each tab with the steps
 * offered (recording consent to share given or withdrawn), and a new referral that starts at
 * arrest and refuses probation with an error summary, the answer kept.
 */
async function liaisonDiversionReferrals (t, page, r) {
  const tabs = await visitCaseList(t, page, r)
  await visitReferralsUnderTabs(t, page, r, tabs, new Set())
  await visit(t, page, `${r}-referral-new`, '/referrals/new')
  let draft = null
  stopUnless(await step(t, `${r}-referral-step-entry-point: a new referral starts at arrest`, async () => {
    draft = await startNewReferral(page, `${r}-referral-step-entry-point`)
    assert.ok(await page.locator('input[name="entry_point"][value="arrest"]').isChecked(), 'arrest is chosen')
  }), 'starting a referral')
  await t.test(`${r}-referral-step-entry-point-errors: probation is refused`, async () => {
    await page.goto(`${draft}/entry-point`, { waitUntil: 'load' })
    await page.getByLabel('Probation (pre-sentence report)').check()
    resetLog(page)
    await clickAndWait(page, page.getByRole('button', { name: 'Save and continue' }))
    await checkPage(page, `${r}-referral-step-entry-point-errors`)
    assert.equal(await page.locator('.govuk-error-summary').count(), 1, 'error summary shown')
    assert.match(await page.locator('.govuk-error-summary').innerText(), /refer at the point of arrest/)
    assert.ok(await page.locator('input[name="entry_point"][value="probation"]').isChecked(), 'answer kept')
  })
}

/** The first referral under each tab, and each action page offered there not yet seen. */
async function visitReferralsUnderTabs (t, page, r, tabs, seen) {
  for (const tab of tabs) {
    let href = null
    await t.test(`${r}: first referral under "${tab.text}"`, async () => {
      href = await firstReferralUnder(page, [tab])
    })
    if (href) await visitReferralAndActions(t, page, `${r}-referral-under-${slug(tab.text)}`, href, seen)
  }
}

/**
 * Keyboard only: from the home page to a submitted referral and its amendment page. The
 * person has the name and date of birth of a demo person, so the service asks whether
 * they are already known (a page of its own) and the referral joins that record.
 */
async function probationOfficerMakesAReferral (t, page, r) {
  const k = `keyboard-${r}`
  await page.goto('/', { waitUntil: 'load' })

  stopUnless(await step(t, 'keyboard: Referrals, then "Make a referral", then "Start a new referral"', async () => {
    await tabTo(page, '.govuk-service-navigation__link[href="/referrals"]')
    await pressEnterAndWait(page, '**/referrals')
    await tabTo(page, 'main a.govuk-button[href="/referrals/new"]')
    await pressEnterAndWait(page, '**/referrals/new')
    await submitWithEnter(page, 'Start a new referral')
    assert.match(new URL(page.url()).pathname, /^\/referrals\/drafts\/[^/]+\/entry-point$/)
  }), 'keyboard: starting a referral')

  stopUnless(await step(t, 'keyboard: where the referral comes from', async () => {
    await chooseRadio(page, 'entry_point', 'arrest')
    await submitWithEnter(page, 'Save and continue')
    await assertNoErrors(page, 'entry point')
    assert.match(new URL(page.url()).pathname, /\/person$/)
  }), 'keyboard: entry point')

  stopUnless(await step(t, 'keyboard: about the person', async () => {
    await typeInto(page, 'given_name', 'Daniel')
    await typeInto(page, 'family_name', 'Hughes')
    await typeInto(page, 'date_of_birth-day', '14')
    await typeInto(page, 'date_of_birth-month', '3')
    await typeInto(page, 'date_of_birth-year', '1991')
    await chooseRadio(page, 'sex', 'male')
    await chooseRadio(page, 'gender_identity', 'same_as_sex')
    await chooseOption(page, 'ethnicity', 'White: English, Welsh, Scottish, Northern Irish or British')
    await chooseOption(page, 'area_id', 'Melton')
    await chooseRadio(page, 'interpreter_needed', 'no')
    await submitWithEnter(page, 'Save and continue')
    await assertNoErrors(page, 'person')
    assert.match(new URL(page.url()).pathname, /\/details$/)
  }), 'keyboard: person')

  stopUnless(await step(t, 'keyboard: referral details (point of arrest)', async () => {
    await chooseRadio(page, 'location_kind', 'custody_suite')
    await typeInto(page, 'location', 'Euston Street custody suite, Leicester')
    await typeInto(page, 'ld_practitioner', 'Jordan Ellis')
    await tickCheckbox(page, 'vulnerabilities', 'mental_health')
    await tickCheckbox(page, 'vulnerabilities', 'housing')
    await chooseRadio(page, 'consent_to_share', 'yes')
    await chooseOption(page, 'offence_category', 'Public order offences')
    await submitWithEnter(page, 'Save and continue')
    await assertNoErrors(page, 'details')
    assert.match(new URL(page.url()).pathname, /\/needs-and-risk$/)
  }), 'keyboard: details')

  stopUnless(await step(t, 'keyboard: needs, risk and sessions', async () => {
    await tickCheckbox(page, 'needs', 'anxiety')
    await chooseRadio(page, 'substance_misuse', 'no')
    await chooseRadio(page, 'drr_atr', 'none')
    await chooseRadio(page, 'rosh_level', 'low')
    await chooseRadio(page, 'risk_to_staff', 'no')
    await chooseRadio(page, 'urgency', 'routine')
    await chooseRadio(page, 'session_mode', 'in_person')
    await typeInto(page, 'preferred_times', 'Weekday mornings')
    await submitWithEnter(page, 'Save and continue')
    await assertNoErrors(page, 'needs and risk')
    assert.match(new URL(page.url()).pathname, /\/check$/)
  }), 'keyboard: needs and risk')

  stopUnless(await step(t, `${k}-check: check answers and make the referral`, async () => {
    resetLog(page)
    await checkPage(page, `${k}-check`)
    await submitWithEnter(page, 'Make referral')
    await assertNoErrors(page, 'check answers')
  }), 'keyboard: making the referral')

  stopUnless(await step(t, `${k}-duplicates: link the referral to the person already known`, async () => {
    assert.equal((await page.locator('h1').textContent()).trim(), 'Is this someone already known?',
      `expected the question about a person already known, got ${page.url()}`)
    await checkPage(page, `${k}-duplicates`)
    const known = await page.locator('input[name="person_choice"]').first().getAttribute('value')
    assert.notEqual(known, 'new', 'the first choice is a known person')
    await chooseRadio(page, 'person_choice', known)
    await submitWithEnter(page, 'Continue')
  }), 'keyboard: choosing the person')

  stopUnless(await step(t, `${k}-referral: the referral page`, async () => {
    assert.match(new URL(page.url()).pathname, /^\/referrals\/[^/]+$/, `landed on ${page.url()}`)
    const banner = (await page.locator('.govuk-notification-banner').textContent()).replace(/\s+/g, ' ')
    const m = banner.match(/Referral (\S+) submitted/)
    assert.ok(m, `success banner names the referral: "${banner.trim()}"`)
    madeReference = m[1]
    assert.match(await page.locator('h1').textContent(), /Daniel Hughes/)
    await checkPage(page, `${k}-referral`)
  }), 'keyboard: the referral page')

  await t.test(`${k}-amend: open the amendment page`, async () => {
    await tabTo(page, 'main a[href$="/amend"]', { max: 150 })
    await pressEnterAndWait(page, '**/amend')
    await checkPage(page, `${k}-amend`)
  })
}

async function clinicalLeadReferrals (t, page, r) {
  const tabs = await visitCaseList(t, page, r)
  await visitSearchResult(t, page, r, tabs)

  // The referral to screen: the one the probation officer made in this run, else any
  // referral still waiting for screening.
  let target = null
  stopUnless(await step(t, `${r}: find a referral waiting for screening`, async () => {
    const newTab = tabs.find((tab) => /tab=new\b/.test(tab.href)) ?? tabs[0]
    await page.goto(newTab.href, { waitUntil: 'load' })
    const rows = await page.locator('table.govuk-table tbody tr').evaluateAll((trs) => trs.map((tr) => ({
      href: tr.querySelector('a')?.getAttribute('href'),
      reference: tr.children[1]?.textContent.trim(),
      status: tr.children[4]?.textContent.trim()
    })))
    const waiting = rows.filter((row) => row.status === 'Submitted')
    target = (waiting.find((row) => row.reference === madeReference) ?? waiting[0])?.href
    assert.ok(target, `the New tab lists a submitted referral (rows: ${JSON.stringify(rows)})`)
  }), 'finding a referral to screen')

  // The question asked before opening a referral off one's own caseload, and its error.
  await visit(t, page, `${r}-referral-reason`, `${target}/reason`)
  await submitEmpty(t, page, `${r}-referral-reason-errors`, `${target}/reason`, 'Continue')

  const seen = new Set()
  await visitReferralAndActions(t, page, `${r}-referral`, target, seen)
  await visit(t, page, `${r}-referral-amend`, `${target}/amend`)
  // Sent unchanged and without a reason: refused with an error summary.
  await submitEmpty(t, page, `${r}-referral-amend-errors`, `${target}/amend`, 'Save changes')

  await t.test(`${r}-referral-accepted: accept at screening, the timeline shows it`, async () => {
    await page.goto(target, { waitUntil: 'load' })
    const before = await page.locator('.moj-timeline__item').count()
    await clickAndWait(page, page.getByRole('link', { name: 'Accept at screening' }))
    assert.match(new URL(page.url()).pathname, /\/actions\/accept$/)
    resetLog(page)
    await clickAndWait(page, page.locator('main').getByRole('button', { name: 'Accept at screening' }))
    assert.equal(new URL(page.url()).pathname, target, 'back on the referral page')
    await checkPage(page, `${r}-referral-accepted`)
    assert.match(await page.locator('.govuk-notification-banner').textContent(), /Accept at screening: done/)
    assert.equal(await page.locator('.moj-timeline__item').count(), before + 1, 'one more timeline entry')
    assert.match(await page.locator('.moj-timeline').textContent(), /Accepted at screening/)
    assert.match(await page.locator('h1').textContent(), /Accepted at screening/, 'status tag updated')
  })

  // The action pages offered at the other stages: the first referral of each other tab.
  await visitReferralsUnderTabs(t, page, r, tabs.filter((tab) => !/tab=new\b/.test(tab.href)), seen)

  await visit(t, page, `${r}-merge`, '/people/merge')
  await submitEmpty(t, page, `${r}-merge-errors`, '/people/merge', 'Merge records')

  // An identity match (a demo referral was given another person's CRN): the lead's decision
  // page, and its errors.
  let identity = null
  await t.test(`${r}: find the identity match to decide`, async () => {
    for (const tab of tabs) {
      await page.goto(tab.href, { waitUntil: 'load' })
      for (const href of await hrefs(page, 'table.govuk-table tbody a[href^="/referrals/"]')) {
        await page.goto(href, { waitUntil: 'load' })
        const link = page.locator('main a[href*="/identity/"]')
        if (await link.count()) {
          identity = await link.first().getAttribute('href')
          return
        }
      }
    }
    assert.ok(identity, 'a demo referral has an identity match to decide')
  })
  if (identity) {
    await visit(t, page, `${r}-identity`, identity)
    await submitEmpty(t, page, `${r}-identity-errors`, identity, 'Save decision')
  }

  // The retention review: the queue of the lead's areas, and a referral's review page (the
  // demo referrals are recent, so it says when the review will come).
  await visit(t, page, `${r}-retention`, '/retention')
  await visit(t, page, `${r}-retention-review`, target.replace(/^\/referrals\//, '/retention/'))
}

async function assistantPsychologistReferrals (t, page, r) {
  const tabs = await visitCaseList(t, page, r)
  let href = null
  stopUnless(await step(t, `${r}: a referral in the caseload`, async () => {
    href = await firstReferralUnder(page, tabs)
    assert.ok(href, 'the caseload lists a referral')
  }), 'finding a referral')
  await visitReferralAndActions(t, page, `${r}-referral`, href)
}


// The treatment pages a referral offers (plan, sessions, measures, reports, alerts and
// enforcement decisions), each visited once per kind and submitted empty.
const TREATMENT_FORMS = [
  [/\/sessions\/plan$/, 'plan', 'Check the dates'],
  [/\/sessions\/add$/, 'add-session', 'Add the session'],
  [/\/reschedule$/, 'move-session', 'Move the session'],
  [/\/cancel$/, 'cancel-session', 'Cancel the session'],
  [/\/attendance$/, 'record-session', 'Record the session'],
  [/\/correction$/, 'correct-attendance', 'Correct the attendance'],
  [/\/notes$/, 'session-notes', 'Save a new version'],
  [/\/evidence$/, 'absence-evidence', 'Record the decision'],
  [/\/measures\/phq9$/, 'measure-phq9', 'Record the answers'],
  [/\/measures\/core10$/, 'measure-core10', 'Record the answers'],
  [/\/practitioner-report$/, 'practitioner-report', 'Send the report'],
  [/^\/risk-alerts\//, 'risk-alert', 'Acknowledge the alert'],
  [/^\/enforcement-reviews\/[^/]+\/decision$/, 'enforcement-decision', 'Record the decision'],
  [/^\/enforcement-reviews\/[^/]+\/withdrawal$/, 'enforcement-withdrawal', 'Withdraw the decision'],
  [/\/signposting\/new$/, 'signpost', 'Record the signposting'],
  [/\/no-onward-support$/, 'no-onward-support', 'Save'],
  [/^\/referrals\/[^/]+\/contact$/, 'contact-details', 'Save contact details']
]

async function visitTreatmentPages (t, page, r) {
  const seen = new Set()
  for (const tab of ['waiting', 'in_treatment']) {
    let referrals = []
    await t.test(`${r}: referrals ${tab}`, async () => {
      await page.goto(`/referrals?tab=${tab}`, { waitUntil: 'load' })
      referrals = (await hrefs(page, 'table.govuk-table tbody a[href^="/referrals/"]')).slice(0, 3)
    })
    for (const href of referrals) {
      let links = []
      await t.test(`${r}: treatment links on ${href}`, async () => {
        await page.goto(href, { waitUntil: 'load' })
        links = await hrefs(page, 'main a[href]')
      })
      for (const link of links) {
        const form = TREATMENT_FORMS.find(([pattern]) => pattern.test(link))
        if (!form || seen.has(form[1])) continue
        seen.add(form[1])
        await visit(t, page, `${r}-${form[1]}`, link)
        // Contact details are read-only to those in scope who do not keep them.
        if (form[1] === 'contact-details' && await page.getByRole('button', { name: form[2], exact: true }).count() === 0) continue
        await submitEmpty(t, page, `${r}-${form[1]}-errors`, link, form[2])
      }
    }
  }
  return seen
}

const LINKED_FORMS = [
  [/\/linked-requirements\/new$/, 'new-linked-requirement', 'Save the requirement'],
  [/^\/linked-requirements\/[^/]+\/activity$/, 'linked-activity', 'Add the activity'],
  [/^\/linked-requirements\/[^/]+\/status$/, 'linked-status', 'Change the status']
]

/** The linked DRR and ATR pages reachable from referrals in treatment: the form to add one
 * (and its empty submit), a requirement's page, and its activity and status forms. */
async function visitLinkedPages (t, page, r) {
  const seen = new Set()
  let referrals = []
  await t.test(`${r}: referrals in treatment for linked requirements`, async () => {
    await page.goto('/referrals?tab=in_treatment', { waitUntil: 'load' })
    referrals = (await hrefs(page, 'table.govuk-table tbody a[href^="/referrals/"]')).slice(0, 3)
  })
  for (const href of referrals) {
    let links = []
    await t.test(`${r}: linked requirement links on ${href}`, async () => {
      await page.goto(href, { waitUntil: 'load' })
      links = await hrefs(page, 'main a[href]')
    })
    for (const link of links) {
      if (/^\/linked-requirements\/[^/]+$/.test(link) && !seen.has('linked-requirement')) {
        seen.add('linked-requirement')
        await visit(t, page, `${r}-linked-requirement`, link)
        let inner = []
        await t.test(`${r}: links on ${link}`, async () => {
          await page.goto(link, { waitUntil: 'load' })
          inner = await hrefs(page, 'main a[href]')
        })
        links.push(...inner)
        continue
      }
      const form = LINKED_FORMS.find(([pattern]) => pattern.test(link))
      if (!form || seen.has(form[1])) continue
      seen.add(form[1])
      await visit(t, page, `${r}-${form[1]}`, link)
      await submitEmpty(t, page, `${r}-${form[1]}-errors`, link, form[2])
    }
  }
  return seen
}

// ------------------------------------------------------------------ each role

for (const account of ACCOUNTS) {
  test(`signed in as ${account.role}`, async (t) => {
    const context = await newContext()
    const page = await newPage(context)
    const r = account.role
    try {
      stopUnless(await step(t, 'sign in: password step', () => signInWithPassword(page, account)), 'sign-in')
      if (account === ACCOUNTS[0]) {
        // The pages half-way through signing in, checked once.
        await t.test(`${r}-sign-in-code: after the password step`, async () => {
          resetLog(page)
          await checkPage(page, `${r}-sign-in-code`)
        })
        await submitEmpty(t, page, `${r}-sign-in-code-errors`, '/sign-in/code', 'Sign in')
        await visit(t, page, `${r}-sign-in-recovery-code`, '/sign-in/recovery-code')
      }
      stopUnless(await step(t, 'sign in: security code', async () => {
        if (new URL(page.url()).pathname !== '/sign-in/code') await page.goto('/sign-in/code', { waitUntil: 'load' })
        resetLog(page)
        await enterCode(page, account)
        await checkPage(page, `${r}-home`)
        assert.match(await page.locator('header').textContent(), new RegExp(account.name.replace(/\./g, '\\.')))
      }), 'sign-in')
      await visit(t, page, `${r}-account`, '/account')
      await visit(t, page, `${r}-account-password`, '/account/password')
      await submitEmpty(t, page, `${r}-account-password-errors`, '/account/password', 'Change password')
      await visit(t, page, `${r}-not-found`, '/no-such-page', { expectStatus: 404 })

      if (r === 'admin') {
        await visit(t, page, `${r}-users`, '/admin/users')
        await visit(t, page, `${r}-users-new`, '/admin/users/new')
        await submitEmpty(t, page, `${r}-users-new-errors`, '/admin/users/new', 'Add user')
        await page.goto('/admin/users', { waitUntil: 'load' })
        const userPath = await page.locator('table.govuk-table tbody a').first().getAttribute('href')
        assert.match(userPath ?? '', /^\/admin\/users\/[^/]+$/, 'first link in the users table is a user page')
        await visit(t, page, `${r}-user`, userPath)
        await visit(t, page, `${r}-user-edit`, `${userPath}/edit`)
        await visit(t, page, `${r}-user-vetting`, `${userPath}/vetting`)
        await visit(t, page, `${r}-vetting`, '/admin/vetting')
        await visit(t, page, `${r}-audit`, '/admin/audit')
        await visit(t, page, `${r}-audit-search`, '/admin/audit?category=consultation&record_type=referral')
        await visit(t, page, `${r}-audit-bad-date`, '/admin/audit?from_date_day=31&from_date_month=2&from_date_year=2026')
        await t.test(`${r}-audit-entry: an entry opens in full from the log`, async () => {
          resetLog(page)
          await page.goto('/admin/audit', { waitUntil: 'load' })
          await Promise.all([
            page.waitForURL((u) => /^\/admin\/audit\/\d+$/.test(u.pathname), { waitUntil: 'load' }),
            page.locator('a[href^="/admin/audit/"]').first().click()
          ])
          await checkPage(page, `${r}-audit-entry`)
          assert.match(await page.locator('main').innerText(), /Event code/)
        })
        await visit(t, page, `${r}-merge`, '/people/merge')
        await submitEmpty(t, page, `${r}-merge-errors`, '/people/merge', 'Merge records')
        await visit(t, page, `${r}-retention`, '/retention')
        const due = page.locator('table.govuk-table tbody a[href^="/retention/"]')
        if (await due.count() > 0) {
          const reviewPath = await due.first().getAttribute('href')
          await visit(t, page, `${r}-retention-review`, reviewPath)
          await submitEmpty(t, page, `${r}-retention-review-errors`, reviewPath, 'Save the decision')
        }
        await visit(t, page, `${r}-outbox`, '/admin/outbox')
        await visit(t, page, `${r}-outbox-search`, '/admin/outbox?search=1&recipient=priya.shah%40probation.demo.example')
        await t.test(`${r}-outbox-search-errors: a search for nothing is explained`, async () => {
          resetLog(page)
          await page.goto('/admin/outbox', { waitUntil: 'load' })
          await page.getByLabel('Sent to').fill('not an address')
          await Promise.all([
            page.waitForURL((u) => u.searchParams.get('search') === '1', { waitUntil: 'load' }),
            page.getByRole('button', { name: 'Search', exact: true }).click()
          ])
          await checkPage(page, `${r}-outbox-search-errors`)
          assert.equal(await page.locator('.govuk-error-summary').count(), 1, 'error summary shown')
          assert.equal(await page.getByLabel('Sent to').inputValue(), 'not an address', 'input kept')
        })
        await visit(t, page, `${r}-closures`, '/admin/closures')
        await submitEmpty(t, page, `${r}-closures-errors`, '/admin/closures', 'Add closure')
        await visit(t, page, `${r}-closures-past`, '/admin/closures?past=1')
        await visit(t, page, `${r}-directory`, '/admin/directory')
        await visit(t, page, `${r}-directory-new`, '/admin/directory/new')
        await submitEmpty(t, page, `${r}-directory-new-errors`, '/admin/directory/new', 'Save')
        await page.goto('/admin/directory', { waitUntil: 'load' })
        const servicePath = await page.locator('table.govuk-table tbody a[href$="/edit"]').first().getAttribute('href')
        assert.match(servicePath ?? '', /^\/admin\/directory\/[^/]+\/edit$/, 'the directory lists a demo service')
        await visit(t, page, `${r}-directory-edit`, servicePath)
        await visit(t, page, `${r}-areas`, '/admin/areas')
        await page.goto('/admin/areas', { waitUntil: 'load' })
        const areaPath = await page.locator('table#areas tbody a').first().getAttribute('href')
        assert.match(areaPath ?? '', /^\/admin\/areas\/[^/]+$/, 'first link in the areas table is an area page')
        await visit(t, page, `${r}-area`, areaPath)
        await t.test(`${r}-area-errors: ${areaPath} with a malformed address`, async () => {
          resetLog(page)
          await page.goto(areaPath, { waitUntil: 'load' })
          await page.getByLabel('Intake mailbox email address').fill('not an address')
          await Promise.all([
            page.waitForURL((u) => u.pathname === areaPath, { waitUntil: 'load' }),
            page.getByRole('button', { name: 'Save intake mailbox', exact: true }).click()
          ])
          await checkPage(page, `${r}-area-errors`)
          assert.equal(await page.locator('.govuk-error-summary').count(), 1, 'error summary shown')
          assert.match(await page.title(), /^Error: /, 'page title starts "Error: "')
          assert.equal(await page.getByLabel('Intake mailbox email address').inputValue(), 'not an address', 'input kept')
        })
        await page.goto('/admin/areas', { waitUntil: 'load' })
        const populationPath = await page.locator('table#areas tbody a[href$="/population"]').first().getAttribute('href')
        assert.match(populationPath ?? '', /^\/admin\/areas\/[^/]+\/population$/, 'each area links to its population')
        await visit(t, page, `${r}-area-population`, populationPath)
        await t.test(`${r}-area-population-errors: ${populationPath} with a number that is not one`, async () => {
          resetLog(page)
          await page.goto(populationPath, { waitUntil: 'load' })
          await page.getByLabel('Year of the estimate').fill('2023')
          await page.getByLabel('Adults aged 18 and over').fill('lots')
          await Promise.all([
            page.waitForURL((u) => u.pathname === populationPath, { waitUntil: 'load' }),
            page.getByRole('button', { name: 'Save the population', exact: true }).click()
          ])
          await checkPage(page, `${r}-area-population-errors`)
          assert.equal(await page.locator('.govuk-error-summary').count(), 1, 'error summary shown')
          assert.equal(await page.getByLabel('Adults aged 18 and over').inputValue(), 'lots', 'input kept')
        })
        await visit(t, page, `${r}-reminders`, '/admin/reminders')
        await visit(t, page, `${r}-reminder-template`, '/admin/reminders/templates/booked/cy')
        await submitEmpty(t, page, `${r}-reminder-template-errors`, '/admin/reminders/templates/booked/cy', 'Save the wording')
        await t.test(`${r}-reminder-preview: the wording previewed with a sample session`, async () => {
          resetLog(page)
          await page.goto('/admin/reminders/templates/upcoming/en', { waitUntil: 'load' })
          await Promise.all([
            page.waitForURL((u) => u.pathname === '/admin/reminders/templates/upcoming/en', { waitUntil: 'load' }),
            page.getByRole('button', { name: 'Preview', exact: true }).click()
          ])
          await checkPage(page, `${r}-reminder-preview`)
          assert.match(await page.locator('#preview').textContent(), /Tuesday .* at 2:30pm, at Oakham Community Hub/)
        })
        await visit(t, page, `${r}-identifier-extract`, '/admin/identifier-extract')
        await submitEmpty(t, page, `${r}-identifier-extract-errors`, '/admin/identifier-extract', 'Download the identifier extract (CSV)')
        await visit(t, page, `${r}-import`, '/admin/import')
        await t.test(`${r}-import-errors: /admin/import with nothing chosen`, async () => {
          resetLog(page)
          await page.goto('/admin/import', { waitUntil: 'load' })
          await Promise.all([
            page.waitForURL((u) => u.pathname === '/admin/import', { waitUntil: 'load' }),
            page.getByRole('button', { name: 'Check the files', exact: true }).click()
          ])
          await checkPage(page, `${r}-import-errors`)
          assert.equal(await page.locator('.govuk-error-summary').count(), 1, 'error summary shown')
          assert.match(await page.title(), /^Error: /, 'page title starts "Error: "')
        })
        // The dry run only: it writes nothing, so the other journeys see the demo data unchanged.
        await t.test(`${r}-import-report: the CaseBook sample's dry run through the upload form`, async () => {
          resetLog(page)
          await page.goto('/admin/import', { waitUntil: 'load' })
          await page.getByLabel('legacy_casebook', { exact: true }).check()
          await page.getByLabel('Files', { exact: true }).setInputFiles(
            ['cb_clients.csv', 'cb_cases.csv', 'cb_appointments.csv'].map((f) => path.join(ROOT, 'config', 'import', 'sample', f))
          )
          await Promise.all([
            page.waitForURL((u) => u.pathname === '/admin/import', { waitUntil: 'load' }),
            page.getByRole('button', { name: 'Check the files', exact: true }).click()
          ])
          await checkPage(page, `${r}-import-report`)
          assert.equal(await page.locator('h1').innerText(), 'Check the import')
          assert.equal(await page.locator('#import-files tbody tr').count(), 3, 'one row per file')
          assert.equal(await page.getByRole('button', { name: 'Import these rows', exact: true }).count(), 1)
        })
        // CaseLog's extract as it comes, with a worker code the mapping does not name: the dry
        // run lists it and offers no import.
        await t.test(`${r}-import-unmapped: a CaseLog extract with an unmapped worker code`, async () => {
          resetLog(page)
          const sample = path.join(ROOT, 'config', 'import', 'sample')
          const dir = mkdtempSync(path.join(tmpdir(), 'caselog-'))
          writeFileSync(path.join(dir, 'caselog_cases.csv'), readFileSync(path.join(sample, 'caselog_cases.csv')))
          writeFileSync(
            path.join(dir, 'caselog_contacts.csv'),
            readFileSync(path.join(sample, 'caselog_contacts.csv'), 'utf8').replaceAll('Phone,ATT,AP1', 'Phone,ATT,AP2')
          )
          await page.goto('/admin/import', { waitUntil: 'load' })
          await page.getByLabel('legacy_caselog', { exact: true }).check()
          await page.getByLabel('Files', { exact: true }).setInputFiles(
            ['caselog_cases.csv', 'caselog_contacts.csv'].map((f) => path.join(dir, f))
          )
          await Promise.all([
            page.waitForURL((u) => u.pathname === '/admin/import', { waitUntil: 'load' }),
            page.getByRole('button', { name: 'Check the files', exact: true }).click()
          ])
          await checkPage(page, `${r}-import-unmapped`)
          assert.equal(await page.locator('#import-files tbody tr').count(), 3, 'the cases file is read as people and as cases')
          assert.match(await page.locator('#unmapped-codes').innerText(), /Worker: 'AP2' \(2 rows\)/)
          assert.equal(await page.getByRole('button', { name: 'Import these rows', exact: true }).count(), 0, 'no import offered')
        })
      } else {
        // Administration is refused to everyone else: the refusal page must be accessible too.
        await visit(t, page, `${r}-forbidden`, '/admin/users', { expectStatus: 403 })
      }

      if (r === 'probation-officer') await probationOfficerReferrals(t, page, r)
      if (r === 'liaison-diversion') await liaisonDiversionReferrals(t, page, r)
      if (r === 'clinical-lead') await clinicalLeadReferrals(t, page, r)
      if (r === 'assistant-psychologist') {
        await assistantPsychologistReferrals(t, page, r)
        await visit(t, page, `${r}-signposting-due`, '/signposting/due')
      }
      if (r === 'councillor') await visit(t, page, `${r}-referrals-forbidden`, '/referrals', { expectStatus: 403 })
      if (r === 'councillor') {
        await t.test(`${r}-report-journey: from the home page to the report, another period and the print view`, async () => {
          resetLog(page)
          await page.goto('/', { waitUntil: 'load' })
          await Promise.all([
            page.waitForURL((u) => u.pathname === '/reports/uptake', { waitUntil: 'load' }),
            page.getByRole('link', { name: 'Uptake and capacity report', exact: true }).click()
          ])
          await checkPage(page, `${r}-report-from-home`)
          const main = () => page.locator('main').innerText()
          assert.match(await main(), /In summary/)
          assert.match(await main(), /referrals were made|no referrals were made/)
          // Last financial year instead.
          await page.locator('#period-2').check()
          await Promise.all([
            page.waitForURL((u) => u.pathname === '/reports/uptake' && u.searchParams.has('period'), { waitUntil: 'load' }),
            page.getByRole('button', { name: 'Show the report', exact: true }).click()
          ])
          await checkPage(page, `${r}-report-last-year`)
          // Printing the full report leaves out the menu and account links.
          await page.emulateMedia({ media: 'print' })
          assert.ok(await page.locator('.govuk-service-navigation__wrapper, .app-account-nav').first().isHidden(), 'menu hidden when printed')
          await page.emulateMedia({ media: 'screen' })
          await Promise.all([
            page.waitForURL((u) => u.searchParams.get('print') === '1', { waitUntil: 'load' }),
            page.getByRole('link', { name: 'Print-friendly view for council papers', exact: true }).click()
          ])
          await checkPage(page, `${r}-report-print-view`)
          assert.ok(await page.locator('.app-account-nav').isHidden(), 'no account links in the print view')
          assert.match(await main(), /Produced on \d+ \w+ \d{4} at /)
          await Promise.all([
            page.waitForURL((u) => !u.searchParams.has('print'), { waitUntil: 'load' }),
            page.getByRole('link', { name: 'Back to the full report', exact: true }).click()
          ])
          assert.ok(await page.locator('.app-account-nav').isVisible(), 'back to the full report, menu and all')
        })
      }
      if (r === 'councillor' || r === 'clinical-lead' || r === 'admin') {
        await visit(t, page, `${r}-uptake-report`, '/reports/uptake')
        await visit(t, page, `${r}-uptake-report-print`, '/reports/uptake?print=1')
        await visit(t, page, `${r}-uptake-report-bad-period`, '/reports/uptake?period=other&period_other=sometime')
        if (r !== 'councillor') {
          await visit(t, page, `${r}-evaluation-return`, '/reports/evaluation')
          await visit(t, page, `${r}-evaluation-return-bad-period`, '/reports/evaluation?download=yes&return=evaluation&period=sometime')
        } else {
          await visit(t, page, `${r}-evaluation-return-forbidden`, '/reports/evaluation', { expectStatus: 403 })
        }
        await t.test(`${r}-uptake-report-36-months: a longer run for small areas`, async () => {
          resetLog(page)
          await page.goto('/reports/uptake', { waitUntil: 'load' })
          await page.getByLabel(/^The 36 months to /).check()
          await Promise.all([
            page.waitForURL((u) => u.pathname === '/reports/uptake' && u.searchParams.has('period'), { waitUntil: 'load' }),
            page.getByRole('button', { name: 'Show the report', exact: true }).click()
          ])
          await checkPage(page, `${r}-uptake-report-36-months`)
          assert.ok(await page.getByLabel(/^The 36 months to /).isChecked(), 'the chosen run stays chosen')
        })
        await t.test(`${r}-data-quality: the shares of the agreed fields${r === 'councillor' ? ', and no record' : ' and the records to fix'}`, async () => {
          resetLog(page)
          await page.goto('/', { waitUntil: 'load' })
          await Promise.all([
            page.waitForURL((u) => u.pathname === '/data-quality', { waitUntil: 'load' }),
            page.getByRole('link', { name: 'Data quality', exact: true }).first().click()
          ])
          await checkPage(page, `${r}-data-quality`)
          assert.equal(await page.locator('h1').innerText(), 'Data quality')
          assert.ok(await page.locator('table[id^="group-"]').count() > 0, 'shares shown')
          assert.equal(await page.locator('#findings').count(), r === 'councillor' ? 0 : 1, 'records to fix for staff only')
        })
      }

      if (r === 'assistant-psychologist' || r === 'clinical-lead' || r === 'probation-officer') {
        const seen = await visitTreatmentPages(t, page, r)
        await t.test(`${r}: the demo offers its treatment pages`, () => {
          const expected = {
            'assistant-psychologist': ['contact-details', 'plan', 'record-session', 'move-session', 'cancel-session', 'measure-phq9', 'practitioner-report', 'signpost', 'no-onward-support', 'correct-attendance', 'absence-evidence', 'session-notes'],
            'clinical-lead': ['plan', 'risk-alert', 'move-session', 'correct-attendance', 'session-notes'],
            'probation-officer': ['enforcement-decision', 'enforcement-withdrawal', 'absence-evidence']
          }[r]
          for (const kind of expected) assert.ok(seen.has(kind), `${kind} page reached`)
        })
      }
      if (r === 'assistant-psychologist' || r === 'clinical-lead' || r === 'probation-officer') {
        const seen = await visitLinkedPages(t, page, r)
        await t.test(`${r}: the demo offers its linked requirement pages`, () => {
          const expected = r === 'assistant-psychologist'
            ? ['linked-requirement', 'linked-activity']
            : ['new-linked-requirement', 'linked-requirement', 'linked-activity', 'linked-status']
          for (const kind of expected) assert.ok(seen.has(kind), `${kind} page reached`)
        })
      }
      if (r === 'assistant-psychologist' || r === 'clinical-lead') {
        await visit(t, page, `${r}-diary`, '/diary')
        await visit(t, page, `${r}-calendar-feed`, '/account/calendar')
        await visit(t, page, `${r}-worklist`, '/worklist')
        await visit(t, page, `${r}-leave`, '/leave')
        await submitEmpty(t, page, `${r}-leave-errors`, '/leave', 'Record leave')
      }
      if (r === 'clinical-lead') {
        await visit(t, page, `${r}-capacity`, '/capacity')
        await page.goto('/capacity', { waitUntil: 'load' })
        const patternLinks = page.locator('a[href^="/practitioners/"]')
        if (await patternLinks.count() > 0) {
          await visit(t, page, `${r}-working-pattern`, await patternLinks.first().getAttribute('href'))
        }
      }

      await t.test('sign out', async () => {
        await page.goto('/', { waitUntil: 'load' })
        resetLog(page)
        await signOutWithButton(page)
        await checkPage(page, `${r}-signed-out`)
      })
    } finally {
      await context.close()
    }
  })
}
