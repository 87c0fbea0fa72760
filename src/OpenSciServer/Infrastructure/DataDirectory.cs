using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace OpenSciServer.Infrastructure;

internal static class DataDirectory
{
    /// <summary>Binds <see cref="PlatformOptions"/>, honouring OPENSCISERVER_DATA, and creates the folders.</summary>
    public static void AddPlatformOptions(this WebApplicationBuilder builder)
    {
        if (Environment.GetEnvironmentVariable("OPENSCISERVER_DATA") is { Length: > 0 } fromEnv)
        {
            builder.Configuration[$"{PlatformOptions.SectionName}:{nameof(PlatformOptions.DataDirectory)}"] = fromEnv;
        }

        builder.Services.AddOptions<PlatformOptions>().BindConfiguration(PlatformOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();

        var dataPath = Path.GetFullPath(builder.Configuration[$"{PlatformOptions.SectionName}:{nameof(PlatformOptions.DataDirectory)}"] ?? "data");
        Directory.CreateDirectory(dataPath);
        var keys = Directory.CreateDirectory(Path.Combine(dataPath, "keys"));
        if (!OperatingSystem.IsWindows())
        {
            // Keys sign every cookie and antiforgery token: readable by the platform's account only.
            File.SetUnixFileMode(dataPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
            File.SetUnixFileMode(keys.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        // Persisted keys keep users logged in across restarts.
        builder.Services.AddDataProtection().SetApplicationName("OpenSciServer").PersistKeysToFileSystem(keys);
    }

    public static string DataPath(this IServiceProvider services) =>
        services.GetRequiredService<IOptions<PlatformOptions>>().Value.DataPath;
}
