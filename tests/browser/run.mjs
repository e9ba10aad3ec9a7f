// Browser accessibility suite for mhtr-pathway.
//
// Signs in as each demo role in headless Chromium, loads every page that role can reach,
// and for each page: runs axe-core (WCAG 2.2 A/AA), takes a full-page screenshot, and
// checks there are no console errors (CSP violations included), no failed /assets/
// requests, that application.mjs ran and that the session-timeout dialog is not showing.
// Ends with a keyboard-only journey as the administrator.
//
// Needs a running server with demo data (see tests/browser/README.md):
//   BASE_URL=http://localhost:8090 npm run test:browser

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs'
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
  { role: 'admin', name: 'Sam Okafor', email: 'sam.okafor@admin.demo.example', password: 'lantern gravel mosaic sixty', key: 'GMXJPAAE5UJ4XUVMOYEYUZPJQBTT2VKQ' }
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

/** A page that records console errors, uncaught exceptions and failed asset requests. */
async function newPage (context) {
  const page = await context.newPage()
  const log = { console: [], assets: [], documents: new Map() }
  page.on('console', (msg) => {
    if (msg.type() === 'error') log.console.push({ text: msg.text(), url: msg.location()?.url ?? '' })
  })
  page.on('pageerror', (err) => log.console.push({ text: `Uncaught ${err.name}: ${err.message}`, url: '' }))
  page.on('requestfailed', (req) => {
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
    await Promise.all([
      page.waitForURL((u) => u.pathname === urlPath.split('?')[0], { waitUntil: 'load' }),
      page.getByRole('button', { name: buttonName, exact: true }).click()
    ])
    await checkPage(page, shot)
    const summary = page.locator('.govuk-error-summary')
    assert.equal(await summary.count(), 1, 'error summary shown')
    assert.ok(await page.locator('.govuk-error-summary__list li').count() > 0, 'error summary lists errors')
    assert.match(await page.title(), /^Error: /, 'page title starts "Error: "')
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
      const cs = el ? getComputedStyle(el) : null
      const indicator = !!cs && (
        (cs.outlineStyle !== 'none' && !/rgba\(0, 0, 0, 0\)|transparent/.test(cs.outlineColor) && parseFloat(cs.outlineWidth) > 0) ||
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
        await visit(t, page, `${r}-outbox`, '/admin/outbox')
      } else {
        // Administration is refused to everyone else: the refusal page must be accessible too.
        await visit(t, page, `${r}-forbidden`, '/admin/users', { expectStatus: 403 })
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
