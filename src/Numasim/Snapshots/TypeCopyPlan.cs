using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;

namespace Numasim.Snapshots;

/// <summary>
/// How objects of one runtime type are imaged and copied, as three routines compiled once per type
/// (DynamicMethods, which may read and write private and readonly fields, the library's included):
/// <list type="bullet">
/// <item><see cref="Gather"/> hands every reference the object holds (in fields, in fields of struct fields, in
/// array elements) to the walker, in a fixed order;</item>
/// <item><see cref="Allocate"/> makes a raw copy: same type, every field or element as in the source;</item>
/// <item><see cref="Patch"/> replaces, in that order, each reference of the raw copy whose target was copied.</item>
/// </list>
/// Shared, never copied: strings, reflection objects, the library's stateless comparers, and types marked
/// <see cref="SharedInSnapshotsAttribute"/>.
/// </summary>
internal sealed class TypeCopyPlan
{
    public delegate object AllocateFn(object source);
    public delegate void GatherFn(object source, GraphWalker walker);
    public delegate void PatchFn(object copy, int[] refs, ref int pos, object[] copies);

    private static readonly ConcurrentDictionary<Type, TypeCopyPlan> s_plans = new();
    private static readonly ConcurrentDictionary<Type, bool> s_hasRefs = new();
    private static readonly Func<object, object> s_memberwiseClone =
        typeof(object).GetMethod("MemberwiseClone", BindingFlags.Instance | BindingFlags.NonPublic)!.CreateDelegate<Func<object, object>>();
    private static readonly MethodInfo s_memberwise = typeof(TypeCopyPlan).GetMethod(nameof(Memberwise), BindingFlags.Static | BindingFlags.NonPublic)!;
    private static readonly MethodInfo s_visit = typeof(GraphWalker).GetMethod(nameof(GraphWalker.Visit))!;
    private static readonly MethodInfo s_uninitialized = typeof(RuntimeHelpers).GetMethod(nameof(RuntimeHelpers.GetUninitializedObject))!;
    private static readonly MethodInfo s_typeFromHandle = typeof(Type).GetMethod(nameof(Type.GetTypeFromHandle))!;
    private static readonly MethodInfo s_arrayCopy = typeof(Array).GetMethod(nameof(Array.Copy), [typeof(Array), typeof(Array), typeof(int)])!;

    public readonly bool Shared;
    public readonly AllocateFn Allocate = null!;
    public readonly GatherFn? Gather;   // null: holds no reference that may need copying
    public readonly PatchFn? Patch;

    public static TypeCopyPlan For(Type t) => s_plans.GetOrAdd(t, static t => new TypeCopyPlan(t));

    private TypeCopyPlan(Type t)
    {
        if (IsShared(t)) { Shared = true; return; }
        if (t.IsPointer || t.IsByRefLike || typeof(Thread).IsAssignableFrom(t) || typeof(WaitHandle).IsAssignableFrom(t))
            throw new NotSupportedException($"cannot snapshot an object of type {t}");
        if (t.IsArray && (t.GetArrayRank() != 1 || t != t.GetElementType()!.MakeArrayType()))
            throw new NotSupportedException($"cannot snapshot a multi-dimensional or non-zero-based array {t}");
        if (IdentityKeyedKey(t) is { } key)
            throw new NotSupportedException($"cannot snapshot a {t.Name} keyed by {key.Name}, whose hash code is its identity: the copy's keys would hash differently");
        Allocate = CompileAllocate(t);
        var element = t.IsArray ? t.GetElementType()! : null;
        if (element is not null ? NeverCopied(element) : !ReferencePaths(t).Any()) return;
        Gather = CompileGather(t);
        Patch = CompilePatch(t);
    }

    private static object Memberwise(object source) => s_memberwiseClone(source);

    /// <summary>The key type of a hashed collection whose keys hash by object identity (a class that does not
    /// override GetHashCode), or null. Its buckets, copied as they are, would not find the copied keys.</summary>
    private static Type? IdentityKeyedKey(Type t)
    {
        if (!t.IsGenericType) return null;
        var def = t.GetGenericTypeDefinition();
        if (def != typeof(Dictionary<,>) && def != typeof(HashSet<>) && def != typeof(ConcurrentDictionary<,>)) return null;
        var key = t.GetGenericArguments()[0];
        if (key.IsValueType || key.IsInterface || key == typeof(object) || key.IsAbstract) return null;
        var hash = key.GetMethod(nameof(GetHashCode), Type.EmptyTypes)!;
        return hash.DeclaringType == typeof(object) ? key : null;
    }

    private static bool IsShared(Type t) =>
        t == typeof(string) || t.IsPrimitive || t.IsEnum || typeof(MemberInfo).IsAssignableFrom(t) || typeof(Module).IsAssignableFrom(t)
        || typeof(Assembly).IsAssignableFrom(t) || t == typeof(Pointer) || t == typeof(DBNull)
        || t.IsDefined(typeof(SharedInSnapshotsAttribute), inherit: false)
        // Library comparers carry no state the model changes (EqualityComparer<T>.Default and friends).
        || (t.Assembly == typeof(object).Assembly && IsComparer(t));

    private static bool IsComparer(Type t) =>
        typeof(IEqualityComparer).IsAssignableFrom(t) || typeof(IComparer).IsAssignableFrom(t)
        || t.GetInterfaces().Any(i => i.IsGenericType && (i.GetGenericTypeDefinition() == typeof(IEqualityComparer<>) || i.GetGenericTypeDefinition() == typeof(IComparer<>)));

    /// <summary>A field or element of this declared type never holds anything to copy (a string stays the same string).</summary>
    private static bool NeverCopied(Type declared) =>
        declared.IsPrimitive || declared.IsEnum || declared.IsPointer
        || (declared.IsValueType ? !HasReferences(declared) || !ReferencePaths(declared).Any() : declared.IsSealed && IsShared(declared));

    private static IEnumerable<FieldInfo> InstanceFields(Type t)
    {
        for (var tt = t; tt is not null && tt != typeof(object); tt = tt.BaseType)
            foreach (var f in tt.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                yield return f;
    }

    private static bool HasReferences(Type t) => s_hasRefs.GetOrAdd(t, static t =>
    {
        if (!t.IsValueType) return true;
        if (t.IsPrimitive || t.IsEnum || t.IsPointer) return false;
        return InstanceFields(t).Any(f => f.FieldType != t && HasReferences(f.FieldType));
    });

    /// <summary>The field paths, through nested structs, that end in a reference field that may need copying.</summary>
    private static IEnumerable<FieldInfo[]> ReferencePaths(Type t)
    {
        foreach (var f in InstanceFields(t))
        {
            if (NeverCopied(f.FieldType)) continue;
            if (!f.FieldType.IsValueType) { yield return [f]; continue; }
            foreach (var sub in ReferencePaths(f.FieldType)) yield return [f, .. sub];
        }
    }

    private static DynamicMethod NewMethod(string what, Type t, Type returns, Type[] parameters) =>
        new($"snapshot_{what}_{t.Name}", returns, parameters, typeof(TypeCopyPlan).Module, skipVisibility: true);

    // ---- Allocate: a raw copy ----

    private static AllocateFn CompileAllocate(Type t)
    {
        var dm = NewMethod("allocate", t, typeof(object), [typeof(object)]);
        var il = dm.GetILGenerator();
        if (t.IsArray)
        {
            var src = il.DeclareLocal(t);
            var dst = il.DeclareLocal(t);
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Castclass, t);
            il.Emit(OpCodes.Stloc, src);
            EmitLength(il, src);
            il.Emit(OpCodes.Newarr, t.GetElementType()!);
            il.Emit(OpCodes.Stloc, dst);
            il.Emit(OpCodes.Ldloc, src);
            il.Emit(OpCodes.Ldloc, dst);
            EmitLength(il, src);
            il.Emit(OpCodes.Call, s_arrayCopy);
            il.Emit(OpCodes.Ldloc, dst);
        }
        else if (t.IsValueType || typeof(Delegate).IsAssignableFrom(t))
        {
            // Boxed structs and delegates cannot be made without a constructor; their memberwise copy is as raw.
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Call, s_memberwise);
        }
        else
        {
            var src = il.DeclareLocal(t);
            var dst = il.DeclareLocal(t);
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Castclass, t);
            il.Emit(OpCodes.Stloc, src);
            il.Emit(OpCodes.Ldtoken, t);
            il.Emit(OpCodes.Call, s_typeFromHandle);
            il.Emit(OpCodes.Call, s_uninitialized);
            il.Emit(OpCodes.Castclass, t);
            il.Emit(OpCodes.Stloc, dst);
            foreach (var f in InstanceFields(t))
            {
                il.Emit(OpCodes.Ldloc, dst);
                il.Emit(OpCodes.Ldloc, src);
                il.Emit(OpCodes.Ldfld, f);
                il.Emit(OpCodes.Stfld, f);
            }
            il.Emit(OpCodes.Ldloc, dst);
        }
        il.Emit(OpCodes.Ret);
        return dm.CreateDelegate<AllocateFn>();
    }

    private static void EmitLength(ILGenerator il, LocalBuilder array)
    {
        il.Emit(OpCodes.Ldloc, array);
        il.Emit(OpCodes.Ldlen);
        il.Emit(OpCodes.Conv_I4);
    }

    // ---- Gather and Patch share the walk over an object's reference slots ----

    /// <summary>Emits <paramref name="slot"/> once per reference slot of the object in argument 0, in the fixed
    /// order: field paths for an object or boxed struct, elements (then paths) for an array. The callback gets a
    /// loader that pushes the address (or object) holding the slot, and the slot's last field (null for an
    /// element of a reference array, whose loader pushes the array and the index).</summary>
    private static void EmitSlots(ILGenerator il, Type t, Action<Action, FieldInfo?> slot)
    {
        if (!t.IsArray)
        {
            var self = il.DeclareLocal(t.IsValueType ? typeof(object) : t);
            il.Emit(OpCodes.Ldarg_0);
            if (!t.IsValueType) il.Emit(OpCodes.Castclass, t);
            il.Emit(OpCodes.Stloc, self);
            foreach (var path in ReferencePaths(t))
                slot(() =>
                {
                    il.Emit(OpCodes.Ldloc, self);
                    if (t.IsValueType) il.Emit(OpCodes.Unbox, t);
                    for (int i = 0; i < path.Length - 1; i++) il.Emit(OpCodes.Ldflda, path[i]);
                }, path[^1]);
            return;
        }
        var e = t.GetElementType()!;
        var arr = il.DeclareLocal(t);
        var index = il.DeclareLocal(typeof(int));
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Castclass, t);
        il.Emit(OpCodes.Stloc, arr);
        var test = il.DefineLabel();
        var loop = il.DefineLabel();
        il.Emit(OpCodes.Ldc_I4_0);
        il.Emit(OpCodes.Stloc, index);
        il.Emit(OpCodes.Br, test);
        il.MarkLabel(loop);
        if (!e.IsValueType)
            slot(() => { il.Emit(OpCodes.Ldloc, arr); il.Emit(OpCodes.Ldloc, index); }, null);
        else
            foreach (var path in ReferencePaths(e))
                slot(() =>
                {
                    il.Emit(OpCodes.Ldloc, arr);
                    il.Emit(OpCodes.Ldloc, index);
                    il.Emit(OpCodes.Ldelema, e);
                    for (int i = 0; i < path.Length - 1; i++) il.Emit(OpCodes.Ldflda, path[i]);
                }, path[^1]);
        il.Emit(OpCodes.Ldloc, index);
        il.Emit(OpCodes.Ldc_I4_1);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Stloc, index);
        il.MarkLabel(test);
        il.Emit(OpCodes.Ldloc, index);
        EmitLength(il, arr);
        il.Emit(OpCodes.Blt, loop);
    }

    private static GatherFn CompileGather(Type t)
    {
        var dm = NewMethod("gather", t, typeof(void), [typeof(object), typeof(GraphWalker)]);
        var il = dm.GetILGenerator();
        EmitSlots(il, t, (load, last) =>
        {
            il.Emit(OpCodes.Ldarg_1);
            load();
            if (last is null) il.Emit(OpCodes.Ldelem_Ref);
            else il.Emit(OpCodes.Ldfld, last);
            il.Emit(OpCodes.Call, s_visit);
        });
        il.Emit(OpCodes.Ret);
        return dm.CreateDelegate<GatherFn>();
    }

    private static PatchFn CompilePatch(Type t)
    {
        var dm = NewMethod("patch", t, typeof(void), [typeof(object), typeof(int[]), typeof(int).MakeByRefType(), typeof(object[])]);
        var il = dm.GetILGenerator();
        var pos = il.DeclareLocal(typeof(int));
        var k = il.DeclareLocal(typeof(int));
        il.Emit(OpCodes.Ldarg_2);
        il.Emit(OpCodes.Ldind_I4);
        il.Emit(OpCodes.Stloc, pos);
        EmitSlots(il, t, (load, last) =>
        {
            // k = refs[pos++]; a negative k (null, shared) leaves the raw copy's value.
            var skip = il.DefineLabel();
            il.Emit(OpCodes.Ldarg_1);
            il.Emit(OpCodes.Ldloc, pos);
            il.Emit(OpCodes.Ldelem_I4);
            il.Emit(OpCodes.Stloc, k);
            il.Emit(OpCodes.Ldloc, pos);
            il.Emit(OpCodes.Ldc_I4_1);
            il.Emit(OpCodes.Add);
            il.Emit(OpCodes.Stloc, pos);
            il.Emit(OpCodes.Ldloc, k);
            il.Emit(OpCodes.Ldc_I4_0);
            il.Emit(OpCodes.Blt, skip);
            load();
            il.Emit(OpCodes.Ldarg_3);
            il.Emit(OpCodes.Ldloc, k);
            il.Emit(OpCodes.Ldelem_Ref);
            if (last is null) il.Emit(OpCodes.Stelem_Ref);
            else il.Emit(OpCodes.Stfld, last);
            il.MarkLabel(skip);
        });
        il.Emit(OpCodes.Ldarg_2);
        il.Emit(OpCodes.Ldloc, pos);
        il.Emit(OpCodes.Stind_I4);
        il.Emit(OpCodes.Ret);
        return dm.CreateDelegate<PatchFn>();
    }
}
