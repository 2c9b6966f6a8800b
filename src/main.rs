fn main() -> std::process::ExitCode {
    nodedc_agent_gateway::cli::main()
}
