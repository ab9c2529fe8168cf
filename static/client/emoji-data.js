// The emoji picker's set: common Unicode emojis by category, each "emoji name keywords" (the
// names are what search matches). Kept small and local: nothing is fetched.

const RAW = {
  Smileys: `😀 grinning happy|😃 smiley happy|😄 smile happy|😁 grin|😆 laughing|😅 sweat smile|🤣 rofl laughing|😂 joy tears laughing|🙂 slight smile|🙃 upside down|😉 wink|😊 blush|😇 innocent halo|🥰 loving hearts|😍 heart eyes love|🤩 star struck|😘 kiss|😋 yum tasty|😛 tongue|😜 wink tongue|🤪 zany crazy|🤑 money|🤗 hug|🤭 hand over mouth|🤫 shush quiet|🤔 thinking|🤐 zipper mouth|🤨 raised eyebrow|😐 neutral|😑 expressionless|😶 no mouth|😏 smirk|😒 unamused|🙄 eye roll|😬 grimace|😌 relieved|😔 pensive|😪 sleepy|😴 sleeping|😷 mask sick|🤒 thermometer ill|🤕 bandage hurt|🤢 nauseated|🤮 vomit|🥵 hot|🥶 cold|🥴 woozy|😵 dizzy|🤯 mind blown exploding|🤠 cowboy|🥳 party celebrate|😎 cool sunglasses|🤓 nerd|🧐 monocle|😕 confused|😟 worried|🙁 frown|😮 open mouth wow surprised|😯 hushed|😲 astonished|😳 flushed|🥺 pleading|😦 frowning|😧 anguished|😨 fearful|😰 anxious sweat|😥 sad relieved|😢 cry sad tear|😭 sob crying|😱 scream|😖 confounded|😣 persevere|😞 disappointed|😓 downcast sweat|😩 weary|😫 tired|🥱 yawn|😤 triumph huff|😡 angry rage|😠 angry|🤬 cursing|😈 devil smiling|👿 imp|💀 skull dead|💩 poop|🤡 clown|👻 ghost|👽 alien|🤖 robot|😺 cat smile|😹 cat joy|😻 cat heart eyes`,
  People: `👍 thumbs up yes like +1|👎 thumbs down no -1|👌 ok|✌️ victory peace|🤞 fingers crossed luck|🤟 love you|🤘 rock on|🤙 call me|👈 point left|👉 point right|👆 point up|👇 point down|☝️ index up|✋ raised hand stop|🤚 back of hand|🖐️ hand fingers|🖖 vulcan|👋 wave hello bye|👏 clap applause|🙌 raised hands hooray|👐 open hands|🤲 palms up|🤝 handshake deal|🙏 pray thanks please|✍️ writing|💪 muscle strong flex|🧠 brain|👀 eyes look|👁️ eye|👅 tongue|👄 lips|👶 baby|🧒 child|👦 boy|👧 girl|🧑 person|👨 man|👩 woman|🧓 older person|👮 police|🕵️ detective|👷 construction worker|🧑‍💻 technologist coder|🧑‍🍳 cook|🧑‍🎓 student|🧑‍🏫 teacher|🦸 superhero|🧙 mage wizard|🙋 raising hand|🤷 shrug|🤦 facepalm|🙇 bow|💃 dancer dance|🕺 man dancing|🚶 walking|🏃 running`,
  Hearts: `❤️ red heart love|🧡 orange heart|💛 yellow heart|💚 green heart|💙 blue heart|💜 purple heart|🖤 black heart|🤍 white heart|🤎 brown heart|💔 broken heart|❣️ heart exclamation|💕 two hearts|💞 revolving hearts|💓 beating heart|💗 growing heart|💖 sparkling heart|💘 cupid|💝 heart ribbon gift|💯 hundred 100 perfect|💢 anger|💥 boom collision|💫 dizzy star|💦 sweat drops|💨 dash wind|💬 speech bubble|💭 thought bubble|💤 zzz sleep|✅ check mark done yes|☑️ ballot check|✔️ check|❌ cross x no|❎ cross button|➕ plus|➖ minus|❓ question|❗ exclamation|‼️ double exclamation|⚠️ warning|🚫 prohibited no|⛔ no entry|🔥 fire lit hot|✨ sparkles|⭐ star|🌟 glowing star|⚡ zap lightning|🎉 tada party celebrate|🎊 confetti|🏆 trophy win|🥇 first gold medal|🎯 target bullseye|🔔 bell|🔕 no bell mute|📌 pushpin pin|📎 paperclip|🔒 locked|🔓 unlocked|🔑 key|🛡️ shield|💡 bulb idea|⏰ alarm clock|⏳ hourglass wait|📅 calendar date|🗓️ spiral calendar|✏️ pencil|📝 memo note|📣 megaphone|🔗 link`,
  Nature: `🐶 dog|🐱 cat|🐭 mouse|🐹 hamster|🐰 rabbit bunny|🦊 fox|🐻 bear|🐼 panda|🐨 koala|🐯 tiger|🦁 lion|🐮 cow|🐷 pig|🐸 frog|🐵 monkey|🙈 see no evil|🙉 hear no evil|🙊 speak no evil|🐔 chicken|🐧 penguin|🐦 bird|🦆 duck|🦉 owl|🦄 unicorn|🐝 bee|🦋 butterfly|🐌 snail|🐞 ladybug|🐢 turtle|🐍 snake|🐙 octopus|🦀 crab|🐬 dolphin|🐳 whale|🦈 shark|🌵 cactus|🌲 evergreen tree|🌳 tree|🌴 palm tree|🌱 seedling|🍀 four leaf clover luck|🍁 maple leaf|🌸 cherry blossom|🌹 rose|🌻 sunflower|🌞 sun face|🌙 moon|⭐ star|☀️ sun|⛅ cloud sun|🌧️ rain|⛄ snowman|❄️ snowflake|🌈 rainbow|🌊 wave ocean`,
  Food: `🍏 green apple|🍎 apple|🍐 pear|🍊 orange|🍋 lemon|🍌 banana|🍉 watermelon|🍇 grapes|🍓 strawberry|🍒 cherries|🍑 peach|🥭 mango|🍍 pineapple|🥥 coconut|🥝 kiwi|🍅 tomato|🥑 avocado|🌶️ hot pepper|🌽 corn|🥕 carrot|🥐 croissant|🍞 bread|🧀 cheese|🥚 egg|🥓 bacon|🍔 burger|🍟 fries|🍕 pizza|🌭 hot dog|🌮 taco|🌯 burrito|🍝 spaghetti|🍜 ramen noodles|🍣 sushi|🍱 bento|🍩 doughnut|🍪 cookie|🎂 birthday cake|🍰 cake|🧁 cupcake|🍫 chocolate|🍬 candy|🍿 popcorn|☕ coffee|🍵 tea|🥤 soda|🍺 beer|🍻 cheers beers|🍷 wine|🥂 champagne toast|🍾 bottle celebrate`,
  Activities: `⚽ soccer football|🏀 basketball|🏈 american football|⚾ baseball|🎾 tennis|🏐 volleyball|🏓 ping pong|🏸 badminton|🥊 boxing|🎮 video game|🕹️ joystick|🎲 dice game|♟️ chess|🧩 puzzle|🎨 art palette|🎬 clapper movie|🎤 microphone sing|🎧 headphones music|🎵 music note|🎶 notes music|🎸 guitar|🎹 piano|🥁 drum|🎁 gift present|🎈 balloon|🎄 christmas tree|🎃 jack o lantern halloween|📷 camera|📱 phone mobile|💻 laptop computer|⌨️ keyboard|🖥️ desktop|🖱️ mouse|💾 floppy save|📚 books|📖 book|✈️ airplane travel|🚀 rocket launch|🚗 car|🚲 bicycle|⛵ sailboat|🏠 house home|🏢 office|⛰️ mountain|🏖️ beach|🗺️ map|🧭 compass|⏱️ stopwatch|🔋 battery|🔌 plug|🧪 test tube|🔬 microscope|🔭 telescope|🧰 toolbox|🔧 wrench|🔨 hammer|⚙️ gear|🧲 magnet|💰 money bag|💎 gem|🏳️ white flag|🏴 black flag|🏁 checkered flag`,
};

/** [{name: category, emojis: [{char, names}]}] */
export const CATEGORIES = Object.entries(RAW).map(([name, raw]) => ({
  name,
  emojis: raw.split("|").map((entry) => {
    const [char, ...names] = entry.trim().split(" ");
    return { char, names: names.join(" ") };
  }),
}));

/** Emojis whose names contain every word of the query (at most `limit`). */
export function searchEmojis(query, limit = 60) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const out = [];
  const seen = new Set();
  for (const category of CATEGORIES) {
    for (const emoji of category.emojis) {
      if (seen.has(emoji.char) || !words.every((w) => emoji.names.includes(w))) continue;
      seen.add(emoji.char);
      out.push(emoji);
      if (out.length >= limit) return out;
    }
  }
  return out;
}
