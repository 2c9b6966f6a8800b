//! `console-link`: a console sign-in link for local dev, made on the database
//! directly (as Tasker's backend or Launcher would through the internal API) and
//! printed with the URL `serve` uses. It works once, within 60 seconds.

use super::operator::{Failure, gateway_url};
use crate::config::args::ConsoleLinkArgs;
use crate::http::routes::console_links::admin_name;
use crate::service::console::LINK_TTL;
use crate::service::{Ctx, Services};
use crate::storage::console::Subject;

pub(super) async fn run(services: &Services<'_>, ctx: &Ctx, args: ConsoleLinkArgs) -> Result<(), Failure> {
    let url = gateway_url(args.public_url.as_deref(), args.bind.as_deref())?;
    let subject = match (args.owner.as_deref(), args.admin.as_deref()) {
        (Some(owner), None) => Subject::Owner(
            uuid::Uuid::parse_str(owner.trim())
                .map_err(|_| Failure::Usage(format!("--owner `{owner}` is not a UUID")))?,
        ),
        (None, Some(admin)) => Subject::Admin(
            admin_name(admin)
                .ok_or_else(|| Failure::Usage("--admin must name the admin in 1 to 200 printable characters".into()))?,
        ),
        _ => return Err(Failure::Usage("give --owner ID or --admin NAME".into())),
    };
    let mut ctx = ctx.clone();
    if let Subject::Admin(a) = &subject {
        ctx.admin = Some(a.clone());
    }
    let link = services.create_console_link(&ctx, subject).await?;
    println!("{}/console/sign-in?link={}", url.trim_end_matches('/'), link.token);
    eprintln!("This link signs in once, within {} seconds.", LINK_TTL.num_seconds());
    Ok(())
}
