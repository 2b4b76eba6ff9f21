return Numasim.Cli.CliApp.Run(args, Console.Out, Console.Error);
