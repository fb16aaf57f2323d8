//! What each role does, start to stop.

use crate::cli::{Cli, CreateAdminArgs, DemoArgs, Role, SeedArgs};
use crate::runtime::{self, Runtime};
use crate::telemetry;
use anyhow::Context;
use bma_app::AppContext;
use bma_app::config::{Config, Strictness};
use bma_app::jobs::{Registry, Scheduler, Worker};
use bma_domain::access::Role as MemberRole;
use bma_domain::member::{Email, Password, PersonName};
use std::time::Instant;
use tokio::sync::watch;

fn config(strict: Strictness) -> anyhow::Result<Config> {
    Config::from_env(strict).map_err(|e| anyhow::anyhow!("configuration: {e}"))
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let strict = if matches!(cli.role, Role::Demo(_)) { Strictness::Demo } else { Strictness::Production };
    let config = config(strict)?;
    let _telemetry = telemetry::init(&config);
    match cli.role {
        Role::Serve => {
            let rt = runtime::connect(config, false, false).await?;
            serve_until_stopped(rt.ctx, true, false, false).await
        }
        Role::Worker => {
            let rt = runtime::connect(config, false, false).await?;
            serve_until_stopped(rt.ctx, false, true, false).await
        }
        Role::Scheduler => {
            let rt = runtime::connect(config, false, false).await?;
            serve_until_stopped(rt.ctx, false, false, true).await
        }
        Role::All => {
            let rt = runtime::connect(config, true, true).await?;
            serve_until_stopped(rt.ctx.clone(), true, true, true).await
        }
        Role::Migrate => {
            let (url, _pg) = runtime::database(&config, true).await?;
            let db = bma_store::connect(&url, 2).await?;
            bma_store::migrate(&db).await?;
            let created = bma_store::partitions::ensure_ahead(&db).await?;
            tracing::info!(partitions_created = created, "migrations applied");
            Ok(())
        }
        Role::Seed(args) => {
            let rt = runtime::connect(config, true, true).await?;
            seed(&rt, &args).await
        }
        Role::Demo(args) => demo(config, &args).await,
        Role::CreateAdmin(args) => create_admin(config, &args).await,
        Role::Discover(args) => {
            let rt = runtime::connect(config, true, true).await?;
            let client = rt
                .ctx
                .soundtrack
                .clone()
                .context("set SOUNDTRACK_CLIENT_ID and SOUNDTRACK_CLIENT_SECRET (or SOUNDTRACK_API_TOKEN)")?;
            let report = bma_app::monitoring::discovery::sync(&rt.ctx, &client, &args.timezone).await?;
            println!(
                "{} accounts, {} zones: {} venues and {} zones created, {} zones vanished, {} returned",
                report.accounts,
                report.zones,
                report.venues_created,
                report.zones_created,
                report.zones_vanished,
                report.zones_returned
            );
            Ok(())
        }
    }
}

async fn seed(rt: &Runtime, args: &SeedArgs) -> anyhow::Result<()> {
    if args.reset {
        bma_store::seed::reset(&rt.ctx.db).await?;
    }
    let bar = indicatif::ProgressBar::new(args.zones as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} seeding [{bar:40}] {pos}/{len} zones ({per_sec}, {eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let started = Instant::now();
    let plan = bma_store::seed::SeedPlan {
        venues: args.venues,
        zones: args.zones,
        seed: args.seed,
        soundtrack_ids: args.soundtrack_ids,
    };
    let report = bma_store::seed::seed_fleet(&rt.ctx.db, &plan, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .await?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "seeded {} venues, {} zones, {} contacts, {} opening periods in {secs:.2} s",
        report.venues, report.zones, report.contacts, report.opening_periods
    );
    if let Some(days) = args.history {
        let bar = indicatif::ProgressBar::new(u64::from(days));
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} history [{bar:40}] {pos}/{len} days ({eta})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        let started = Instant::now();
        let now = bma_domain::clock::Clock::Real.now();
        let h = bma_store::seed_history::seed_history(&rt.ctx.db, days, args.seed, now, |done, _| {
            bar.set_position(u64::from(done));
        })
        .await?;
        bar.finish_and_clear();
        println!(
            "wrote {} days of history: {} daily rollups, {} alerts, {} conversations, {} messages, {} survey answers in {:.2} s",
            h.days,
            h.rollups,
            h.alerts,
            h.conversations,
            h.messages,
            h.scores,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

async fn create_admin(config: Config, args: &CreateAdminArgs) -> anyhow::Result<()> {
    let raw = std::env::var("BMA_ADMIN_PASSWORD").context("set BMA_ADMIN_PASSWORD to the new admin's password")?;
    let password = Password::parse(&raw)?;
    let (email, name) = (Email::parse(&args.email)?, PersonName::parse(&args.name)?);
    let rt = runtime::connect(config, true, true).await?;
    let m = bma_app::services::team::create_with_password(&rt.ctx, &email, &name, MemberRole::Admin, &password).await?;
    println!("created admin {} ({}); they enrol two-factor sign-in at their first sign-in", m.email, m.id);
    Ok(())
}

/// The demo team, so a newcomer can sign in at once in each role.
const DEMO_TEAM: &[(&str, &str, MemberRole)] = &[
    ("admin@demo.bma", "Ada Admin", MemberRole::Admin),
    ("manager@demo.bma", "Manee Manager", MemberRole::Manager),
    ("viewer@demo.bma", "Vikram Viewer", MemberRole::Viewer),
];
const DEMO_PASSWORD: &str = "demo-password-1";

async fn demo(mut config: Config, args: &DemoArgs) -> anyhow::Result<()> {
    let smtp = bma_fakes::smtp::SmtpSink::start(0, None).await?;
    if config.smtp.is_none() {
        config.smtp = Some(bma_app::config::SmtpConfig {
            host: "127.0.0.1".into(),
            port: smtp.port,
            user: None,
            password: None,
            from: "BMA Social demo <demo@bma-social.local>".into(),
            security: bma_integrations::email::SmtpSecurity::None,
        });
    }
    // The demo's Soundtrack: a fake fleet on loopback, with faults that come and go by themselves.
    let fake = bma_fakes::soundtrack::SoundtrackFake::start(bma_fakes::soundtrack::FleetConfig {
        seed: 42,
        accounts: 40,
        zones: 120,
        ..Default::default()
    })
    .await?;
    if config.soundtrack_auth().is_none() {
        config.soundtrack_api_url = fake.url();
        config.soundtrack_client_id = Some(fake.client_id().to_owned());
        config.soundtrack_client_secret = Some(bma_app::config::Secret::new(fake.client_secret()));
        let now = fake.clock().now();
        let schedule = bma_fakes::soundtrack::random_faults(
            7,
            &fake.accounts(),
            now + time::Duration::seconds(30),
            std::time::Duration::from_secs(8 * 3600),
            2.0,
        );
        for f in schedule {
            fake.inject(f);
        }
    }
    // The demo's WhatsApp and LINE: fakes on loopback that deliver signed webhooks to this server.
    let wa = bma_fakes::whatsapp::WhatsappFake::start(bma_fakes::whatsapp::WhatsappFakeConfig::default()).await?;
    let line = bma_fakes::line::LineFake::start(bma_fakes::line::LineFakeConfig::default()).await?;
    let channels_faked = config.whatsapp_access_token.is_none() && config.line_channel_access_token.is_none();
    let weather = bma_fakes::weather::WeatherFake::start(bma_fakes::weather::WeatherFakeConfig::default()).await?;
    if config.openweathermap_api_key.is_none() {
        config.openweathermap_api_key = Some(bma_app::config::Secret::new(weather.api_key()));
        config.messaging.openweathermap_api_url = weather.base_url();
    }
    if channels_faked {
        let c = wa.config();
        config.whatsapp_access_token = Some(bma_app::config::Secret::new(c.access_token.clone()));
        config.whatsapp_app_secret = Some(bma_app::config::Secret::new(c.app_secret.clone()));
        config.whatsapp_verify_token = Some(bma_app::config::Secret::new("demo-verify-token"));
        config.messaging.whatsapp_api_url = wa.base_url();
        config.messaging.whatsapp_phone_number_id = Some(c.phone_number_id.clone());
        config.messaging.whatsapp_business_account_id = Some(c.business_account_id.clone());
        config.line_channel_access_token = Some(bma_app::config::Secret::new(line.channel_access_token()));
        config.line_channel_secret = Some(bma_app::config::Secret::new(line.channel_secret()));
        config.messaging.line_api_url = line.url();
        config.messaging.line_data_url = line.url();
        let hooks = format!("http://127.0.0.1:{}", config.bind.port());
        wa.set_webhook(&format!("{hooks}/api/v1/webhooks/whatsapp"));
        line.set_webhook(&format!("{hooks}/api/v1/webhooks/line"));
    }
    let rt = runtime::connect(config, true, true).await?;
    let venues = bma_store::seed::venue_count(&rt.ctx.db).await?;
    if venues == 0 {
        seed(
            &rt,
            &SeedArgs {
                venues: args.venues,
                zones: args.zones,
                seed: 42,
                reset: false,
                soundtrack_ids: false,
                history: None,
            },
        )
        .await?;
    }
    let password = Password::parse(DEMO_PASSWORD)?;
    for (email, name, role) in DEMO_TEAM {
        let email = Email::parse(email)?;
        if bma_store::members::find_by_email(&rt.ctx.db, email.as_str()).await?.is_none() {
            bma_app::services::team::create_with_password(&rt.ctx, &email, &PersonName::parse(name)?, *role, &password)
                .await?;
        }
    }
    let url = format!("http://localhost:{}", rt.ctx.config.bind.port());
    println!("\nBMA Social demo is starting on {url}");
    println!("  portal:    {url}/  (sign in as one of the team below; public status page: {url}/status)");
    println!("  API docs:  {url}/api/docs");
    println!("  health:    {url}/health");
    println!("  sign in:   curl -s {url}/api/v1/auth/login -H 'content-type: application/json' \\");
    println!("               -d '{{\"email\":\"manager@demo.bma\",\"password\":\"{DEMO_PASSWORD}\"}}'");
    println!("  team:      admin@demo.bma (enrols two-factor sign-in first), manager@demo.bma, viewer@demo.bma");
    println!("             password for all: {DEMO_PASSWORD}");
    println!("  outgoing email goes to a fake SMTP server on 127.0.0.1:{}", smtp.port);
    println!(
        "  monitoring: {} zones of 40 accounts on a fake Soundtrack ({}); faults come and go on their own;",
        120,
        fake.url()
    );
    println!("             watch GET {url}/api/v1/monitoring/status and /api/v1/monitoring/alerts (as the manager),");
    println!(
        "             or break a zone yourself: curl -s -X POST {}/control/faults -H 'content-type: application/json' \\",
        fake.base_url()
    );
    println!(
        "               -d '{{\"kind\":\"offline\",\"target\":{{\"zone\":\"<id from {}/control/fleet>\"}}}}'\n",
        fake.base_url()
    );
    if channels_faked {
        println!(
            "  inbox:     venues write in on a fake WhatsApp ({}) and LINE ({}) every 20 s or so;",
            wa.base_url(),
            line.url()
        );
        println!(
            "             read GET {url}/api/v1/conversations, reply with POST /api/v1/conversations/<id>/messages,"
        );
        println!("             or write as a venue yourself: curl -s -X POST {}/control/inbound \\", wa.base_url());
        println!(
            "               -H 'content-type: application/json' -d '{{\"from\":\"66812345678\",\"name\":\"Khun Som\",\"text\":\"lobby too loud\"}}'"
        );
        println!("             and see what went out: GET {}/control/sent\n", wa.base_url());
        let mut staff_zone = None;
        for p in fake.playlists() {
            let lower = p.name.to_lowercase();
            let moods: Vec<String> =
                ["jazz", "lounge", "chill", "calm", "upbeat", "pop", "acoustic", "classical", "cozy", "party"]
                    .iter()
                    .filter(|m| lower.contains(*m))
                    .map(|m| (*m).to_owned())
                    .collect();
            let _ = bma_store::messaging::upsert_playlist(&rt.ctx.db, &p.id, &p.name, &moods).await;
        }
        if let Some(client) = rt.ctx.soundtrack.clone() {
            if let Err(e) = bma_app::monitoring::discovery::sync(&rt.ctx, &client, "Asia/Bangkok").await {
                println!("  discovery failed: {e}");
            }
            if let Ok(Some((venue, zone))) = bma_store::seed::demo_staff_contact(&rt.ctx.db, "+66810000099").await {
                println!(
                    "  bot:       Demo Staff (WhatsApp 66810000099) works at {venue}; as them, change a real (fake) player:"
                );
                println!(
                    "               curl -s -X POST {}/control/inbound -H 'content-type: application/json' \\",
                    wa.base_url()
                );
                println!(
                    "               -d '{{\"from\":\"66810000099\",\"name\":\"Demo Staff\",\"text\":\"volume 8 in the {zone}\"}}'"
                );
                println!(
                    "             the bot's answer is in {}/control/sent; they also write in every minute or so",
                    wa.base_url()
                );
                staff_zone = Some(zone);
            }
        }
        let manager = bma_store::members::find_by_email(&rt.ctx.db, "manager@demo.bma").await?;
        if let Some(m) = manager {
            match bma_app::campaigns::demo::ensure(&rt.ctx, m.id).await {
                Ok(Some(_)) => println!(
                    "  campaigns: a sent service notice (its funnel fills as deliveries come back) and a draft \
                     holiday greeting: GET {url}/api/v1/campaigns\n"
                ),
                Ok(None) => {}
                Err(e) => println!("  demo campaigns not created: {e}\n"),
            }
        }
        match bma_app::messaging::line_menu::ensure_default(&rt.ctx).await {
            Ok(id) => println!("  LINE rich menu {id} is the default on the fake LINE\n"),
            Err(e) => println!("  LINE rich menu not set: {e}\n"),
        }
        tokio::spawn(demo_chatter(rt.ctx.db.clone(), wa, line, staff_zone));
    }
    serve_until_stopped(rt.ctx.clone(), true, true, true).await
}

/// Venue contacts writing in on their own channel, so the inbox fills while a newcomer looks.
async fn demo_chatter(
    db: bma_store::PgPool,
    wa: bma_fakes::whatsapp::WhatsappFake,
    line: bma_fakes::line::LineFake,
    staff_zone: Option<String>,
) {
    const LINES: &[&str] = &[
        "Hi, the music stopped in the lobby",
        "Can you turn the pool bar down a bit? Guests are complaining",
        "เพลงไม่ดังค่ะ ห้องอาหาร",
        "What song is playing in the restaurant?",
        "ขอเปลี่ยนเพลย์ลิสต์เป็นแจ๊สหน่อยครับ",
        "Thanks, all good now 🙏",
        "Could someone call me about our invoice?",
        "volume 8 in the spa please",
    ];
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let mut n: usize = 0;
    loop {
        let contact = bma_store::messaging::demo_sender(&db, i64::try_from(n % 50).unwrap_or(0)).await;
        if let Some(zone) = staff_zone.as_deref().filter(|_| n % 3 == 2) {
            let text = format!("volume {} in the {zone} please", 4 + (n / 3) % 9);
            wa.user_sends("66810000099", "Demo Staff", bma_fakes::whatsapp::UserMessage::text(&text));
            n += 1;
            tokio::time::sleep(std::time::Duration::from_secs(20)).await;
            continue;
        }
        let text = LINES[n % LINES.len()];
        match contact {
            Ok(Some((Some(number), _, name))) => {
                wa.user_sends(number.trim_start_matches('+'), &name, bma_fakes::whatsapp::UserMessage::text(text));
            }
            Ok(Some((None, Some(user), _))) => {
                let _ = line.user_sends(&user, bma_fakes::line::UserEvent::Text(text.to_owned())).await;
            }
            _ => {}
        }
        n += 1;
        tokio::time::sleep(std::time::Duration::from_secs(20)).await;
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down");
}

/// Runs the chosen parts until SIGINT/SIGTERM, then lets each finish what it holds.
async fn serve_until_stopped(ctx: AppContext, http: bool, worker: bool, scheduler: bool) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    if worker {
        let w = Worker::new(ctx.clone(), Registry::standard());
        tasks.spawn(w.run(stop_rx.clone()));
    }
    if scheduler {
        let s = Scheduler::new(ctx.clone(), Scheduler::standard());
        tasks.spawn(s.run(stop_rx.clone()));
        tasks.spawn(bma_app::monitoring::runner::run(ctx.clone(), stop_rx.clone()));
    }
    if http {
        let listener = tokio::net::TcpListener::bind(ctx.config.bind)
            .await
            .with_context(|| format!("binding {}", ctx.config.bind))?;
        tracing::info!(addr = %ctx.config.bind, "HTTP server listening");
        let state = bma_web::AppState::new(ctx.clone());
        let mut rx = stop_rx.clone();
        tasks.spawn(async move {
            let stopped = async move {
                let _ = rx.wait_for(|s| *s).await;
            };
            if let Err(e) = bma_portal::serve(state, listener, stopped).await {
                tracing::error!(error = %e, "HTTP server failed");
            }
        });
    }
    shutdown_signal().await;
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    Ok(())
}
