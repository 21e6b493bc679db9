import Foundation
import HostBase
import HostDocker

/// The recipe content policy as a run applies it: before anything is deployed, every checkout the
/// run may deploy (the base, then the head) is read the way the deployer reads it, and whatever the
/// policy refuses stops every deploy (a RED run, each finding with file:line); what the operator's
/// allowance lets through is recorded and shown in every report. More tasks than the run's
/// `ceilings.tasks` is refused whatever is allowed.
struct ContentPolicy {
    /// Each refused finding, `message (compose.yml:12)`; empty when the run may deploy.
    var refused: [String] = []
    /// Each allowed finding, `docker_socket: message (compose.yml:12)`.
    var allowed: [String] = []

    /// `app` as each checkout deploys: the base with its own env, the head with its own (a fresh
    /// install of it) and the head with the base's env, which is how the upgrade deploys it (abra
    /// keeps the env an app was installed with): a head whose own `.env.sample` names other files
    /// than the base's `COMPOSE_FILE` is checked as both.
    init(checkouts: [Checkout], app: AppDeployment, deployer: any Deployer, allowance: PolicyAllowance, maxTasks: Int) {
        var baseEnvironment: [String: String]?
        for (index, checkout) in checkouts.enumerated() {
            var readings: [AppDeployment] = []
            var fresh = app
            fresh.checkout = checkout
            readings.append(fresh)
            if index > 0, let baseEnvironment {
                var upgraded = fresh
                upgraded.environment = baseEnvironment
                readings.append(upgraded)
            }
            for (number, reading) in readings.enumerated() {
                let recipe: Recipe
                do { recipe = try deployer.recipe(of: reading) } catch {
                    // The head read with the base's env may lack a variable the head's release notes
                    // name, which the upgrade adds before it deploys (UpgradeDrift); that deploy then
                    // checks its own rendered stack, and the upgrade tier reports a variable still missing.
                    if number > 0 { continue }
                    refused.appendNew(["\(checkout.ref) could not be read to check it: \(error.description)"])
                    continue
                }
                if index == 0 { baseEnvironment = recipe.envSample.values }
                let decision = StackPreparation.decide(recipe, allowance: allowance, maxTasks: maxTasks)
                refused.appendNew(decision.refused.map { $0.line(relativeTo: checkout.directory) })
                allowed.appendNew(decision.allowed.map { "\($0.option?.rawValue ?? "?"): \($0.line(relativeTo: checkout.directory))" })
            }
        }
    }

    /// The install's detail when the policy refuses the recipe.
    var refusal: String? {
        refused.isEmpty ? nil : "the recipe content policy refuses to deploy it: " + refused.joined(separator: "; ")
    }
}
