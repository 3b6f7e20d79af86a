import QuarryCLI

QuarryCommand.mainExit()
